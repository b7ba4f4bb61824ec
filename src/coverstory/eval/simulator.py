"""Simulated readers for ``coverstory bench dialogue``, speaking their own words.

A reader has one target book in mind. What they know of it comes from the book's own
record in the catalog (its shelf tags, year, page count and description), read the way a
person who knows the book would: a broad genre or two, who it is for, roughly when it came
out, its tone, whether it is long, and a couple of half-remembered things from the story.
What they *say* comes from the hand-written vocabulary in this module, never from the
bot's lexicon, the catalog's tag names or the search index:

- facets are said in several paraphrases per value ("sci-fi", "something set in space",
  "futuristic stuff"); the era is a decade, sometimes misremembered by about ten years;
- plot memory is a few nouns (and sometimes their adjective) taken from one or two random
  sentences of the description -- no word statistics of any kind -- some replaced by a
  hand-written synonym, some forgotten; words that are the book's own shelf names, its
  title words and its author's name are never used;
- noise: typos in a few per cent of the longer words, and now and then some chit-chat.

The reader answers a question when they can map its options to what they know (and says
they don't know or don't mind otherwise), rejects wrong suggestions (sometimes saying why,
in their own words), volunteers one more thing when not asked, and accepts as soon as the
target is among the books shown ("the second one!"). They use only the bot's public reply:
its books, text, question and options.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass

# ---- the reader's own vocabulary -------------------------------------------------------------
# Function words a reader may say even when one occurs in the title ("The Girl on the Train"
# does not stop anyone saying "the"). Everything else in the title or author name is banned.
FUNCTION = frozenset("""a an the of and or in on at to for with from by as is it its i me my
you your he she his her we our they them their this that these those be was were are not no
so but if than then too very into about up out over after before""".split())

# Words too generic to be a memory of a story.
_GENERIC = frozenset("""book books novel novels story stories series author authors reader readers
edition volume bestseller bestselling chapter chapters page pages tale tales trilogy sequel
part parts thing things time times life lives world worlds year years day days way ways
first last next other same more most many much such only own kind sort lot name names
people person something nothing everything anything someone everyone nobody place places
work works end beginning fact case point number word words group side hand eyes
masterpiece classic classics achievement acclaim praise debut performance chronicle perspective
phenomenon sensation triumph tour force voice prose portrait account novelist writer writers
narrative saga literature fiction generation generations audience version translation
bestsellers award prize winner""".split())

# Before a noun phrase: "the old house", "her younger brother" (not "that", "one": pronouns).
_DETERMINERS = frozenset("a an the his her their its our my your every each another".split())
# Closed-class and common non-noun words that can follow a determiner-like word.
_NOT_NOUN = frozenset("""where whose which while when whom what who there then than until unless
under over between among against toward towards through during without within into onto upon
across behind beyond after before since because though although including might must could
would should shall will can may makes make made makes takes took comes came goes went gets got
seems seemed becomes became finds found tells told shows showed knows knew wherever whatever
however whenever also just even still ever never always often only very quite rather else
same such most more less least much many few several both either neither every second third
fourth fifth late back stuck next final one two three four five six seven eight nine ten
eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty
fifty hundred hundreds thousand thousands million millions billion dozen""".split())
_ADJ_END = ("ful", "ous", "able", "ible", "less", "ish", "ive", "ic", "al", "est", "ed", "iest")
_NOUN_LIKE_ADJ = frozenset("""detective relative native captive executive motive magic music
public critic comic logic mechanic clinic panic topic traffic epic animal criminal hospital
rival signal journal festival trial funeral capital crystal metal arrival survival proposal
betrayal ritual scandal individual official general principal professional mortal canal
forest quest guest interest chest protest conquest contest request harvest arrest nest test
rest west priest crest""".split())
# The reader's own list of common adjectives (they describe, they are not the thing remembered).
_ADJ = frozenset("""young old new small big little great dark strange mysterious beautiful
famous wild secret lost ancient brave poor rich long short high deep cold hot last first true
real whole good bad best better worse worst sudden quiet bright perfect separate entire global
mere awful huge mild strong handsome vulnerable violent modern immortal fallen prominent
lengthy massive essential mutual tragic social human local major central singular solitary
unique idyllic horrific consummate international ultimate younger older elder bold fierce
gentle kind cruel evil innocent brilliant clever wise foolish happy sad angry lonely proud
humble sweet bitter dangerous safe deadly free rare common ordinary extraordinary simple
complex curious eager famous infamous glorious terrible wonderful amazing incredible unlikely
likely unexpected ugly pretty fat thin tall tiny giant vast endless brief quick slow early
late recent current former future present past final grand royal noble ruthless reckless
fearless hopeless helpless charming loyal faithful jealous desperate eccentric brash shy
fresh stunning powerful haunting heartbreaking gripping compelling moving thrilling""".split())

@dataclass(frozen=True)
class Value:
    """One value of a coarse facet as this reader knows it.

    tags: how the reader recognises it in the book's shelves (a cue with a hyphen must occur
    in the shelf name; a short cue must be one of its words; a longer one must start one of
    them); words: description words that suggest it; say: how the reader says it;
    no: short bare forms for "no ... please"; hear: how they recognise it in the bot's options.
    """

    name: str
    tags: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    say: tuple[str, ...] = ()
    no: tuple[str, ...] = ()
    hear: tuple[str, ...] = ()


GENRES = (
    Value("fantasy", ("fantasy", "magic", "wizard", "witches", "fairy", "sword", "epic-fantasy"),
          ("magic", "wizard", "wizards", "sorcerer", "sorcery", "spells", "elves", "prophecy",
           "enchanted"),
          ("fantasy", "something with magic in it", "a made-up world full of spells",
           "an adventure with magic", "knights and magic and all that"),
          ("fantasy", "magic stuff"), ("fantasy", "magic", "sorcery")),
    Value("science fiction", ("sci-fi", "scifi", "science-fiction", "sf", "cyberpunk", "aliens",
                              "space-opera"),
          ("planet", "planets", "spaceship", "galaxy", "alien", "aliens", "robot", "robots",
           "starship", "astronaut"),
          ("sci-fi", "something set in space", "futuristic stuff", "science fiction",
           "a story about the future", "spaceships and other planets, that kind of thing"),
          ("sci-fi", "space stuff"), ("science fiction", "sci-fi", "scifi", "sci fi", "space",
                                      "futur")),
    Value("mystery", ("mystery", "mysteries", "detective", "whodunit", "sleuth"),
          ("detective", "investigation", "clues", "inspector", "sleuth", "unsolved"),
          ("a mystery", "a whodunnit", "a detective story",
           "something where someone has to solve a murder", "a puzzle of a crime story"),
          ("mysteries", "detective stuff"), ("mystery", "mysteries", "detective", "whodunit")),
    Value("crime", ("crime", "noir", "heist", "police", "gangster"),
          ("police", "killer", "crime", "gang", "heist", "murderer", "detectives", "cops"),
          ("crime", "a crime novel", "cops and criminals", "something about criminals"),
          ("crime", "cops and robbers"), ("crime", "noir", "police")),
    Value("thriller", ("thriller", "thrillers", "suspense", "spy", "espionage"),
          ("conspiracy", "agent", "spy", "assassin", "deadly", "terrorist"),
          ("a thriller", "something suspenseful", "edge-of-your-seat stuff",
           "a tense page-turner"),
          ("thrillers", "suspense"), ("thriller", "suspense", "spy", "espionage")),
    Value("romance", ("romance", "love", "chick-lit", "romantic", "love-story"),
          ("romance", "passion", "kiss", "lovers", "wedding", "falling"),
          ("a love story", "romance", "something romantic", "a book about falling in love"),
          ("romance", "love stories"), ("romance", "romantic", "love")),
    Value("horror", ("horror", "ghost", "creepy", "zombie", "zombies", "scary"),
          ("horror", "terror", "haunted", "ghosts", "nightmare", "monster", "monsters"),
          ("horror", "something scary", "a creepy one", "spooky stuff",
           "something that gives you nightmares"),
          ("horror", "scary stuff"), ("horror", "scary", "ghost", "creepy", "spooky")),
    Value("historical", ("historical",),
          ("century", "ancient", "medieval", "empire", "revolution", "plantation"),
          ("historical fiction", "something set in the past", "a story set a long time ago",
           "a period piece"),
          ("historical stuff", "period pieces"), ("historical", "period", "past")),
    Value("classic", ("classic", "classics"), (),
          ("a classic", "one of those old classics", "a famous old novel", "a proper classic"),
          ("classics", "old classics"), ("classic",)),
    Value("literary", ("literary", "literature"), (),
          ("literary fiction", "a serious novel", "something literary",
           "a proper grown-up novel"),
          ("literary stuff", "heavy literature"), ("literary", "literature")),
    Value("dystopian", ("dystop", "post-apoc", "apocalyp"),
          ("dystopian", "apocalypse", "regime", "survivors", "rebellion", "totalitarian"),
          ("something dystopian", "a bleak future society", "something about the end of the world",
           "a world gone wrong"),
          ("dystopias", "end of the world stuff"), ("dystop", "apocalyp")),
    Value("paranormal", ("paranormal", "vampire", "vampires", "werewolf", "werewolves",
                         "supernatural", "angels", "demons", "fae", "shifters"),
          ("vampire", "vampires", "werewolf", "werewolves", "supernatural", "demon", "demons",
           "angel", "angels"),
          ("something paranormal", "supernatural stuff", "vampires and that kind of thing",
           "something otherworldly"),
          ("vampires", "supernatural stuff"), ("paranormal", "supernatural", "vampire")),
    Value("nonfiction", ("non-fiction", "nonfiction"), (),
          ("non-fiction", "a true story", "something factual", "something from real life, not made up"),
          ("non-fiction", "true stories"), ("non-fiction", "nonfiction", "non fiction",
                                            "true", "factual")),
    Value("biography", ("biograph", "memoir", "memoirs", "autobiograph"),
          ("memoir", "biography", "autobiography"),
          ("a memoir", "a biography", "someone's life story", "a book about a real person's life"),
          ("memoirs", "biographies"), ("biograph", "memoir")),
    Value("history", ("history",), ("historian",),
          ("a history book", "real history", "something about the past, non-fiction"),
          ("dry history",), ("history",)),
    Value("science", ("popular-science", "non-fiction-science", "nonfiction-science", "physics",
                      "biology", "astronomy", "neuroscience", "evolution", "natural-history"),
          ("scientist", "scientists", "physics", "biology", "universe", "evolution"),
          ("popular science", "a science book", "something about how the universe works"),
          ("science books",), ("science",)),
    Value("self-help", ("self-help", "self-improvement", "psychology", "personal-development",
                        "productivity"),
          ("habits", "happiness", "success", "mindset"),
          ("self-help", "a self improvement book", "something to help me get my life together",
           "something about how the mind works"),
          ("self-help",), ("self-help", "self help", "psycholog", "personal development")),
    Value("business", ("business", "economics", "finance", "entrepreneur"),
          ("business", "economy", "markets", "investing", "company", "companies"),
          ("business", "a book about money and work", "economics"),
          ("business books",), ("business", "economic", "finance", "money")),
    Value("religion", ("christian", "religion", "religious", "faith", "spirituality",
                       "theology"),
          ("faith", "prayer", "church", "jesus", "spiritual"),
          ("something christian", "a book about faith", "something religious"),
          ("religious stuff",), ("religio", "christian", "faith", "spiritual")),
    Value("poetry", ("poetry", "poems"), ("poems", "poetry", "verse"),
          ("poetry", "poems"), ("poetry",), ("poetry", "poem", "verse")),
    Value("comics", ("comic", "comics", "graphic-novel", "graphic-novels", "manga"),
          ("comic", "illustrated"),
          ("a graphic novel", "comics", "a comic book"),
          ("comics",), ("comic", "graphic", "manga")),
    Value("war", ("war", "military", "ww2", "wwii", "world-war"),
          ("soldier", "soldiers", "army", "battle", "troops", "invasion"),
          ("a war story", "something set during a war", "a book about soldiers"),
          ("war stuff",), ("war", "military")),
    Value("adventure", ("adventure", "adventures"),
          ("adventure", "quest", "journey", "expedition", "treasure", "voyage"),
          ("an adventure", "a big adventure story", "a quest kind of book"),
          ("adventure stuff",), ("adventure", "quest")),
    Value("contemporary", ("contemporary", "realistic-fiction", "chick-lit", "womens-fiction"),
          (),
          ("a modern-day story", "contemporary fiction", "something set nowadays",
           "realistic, everyday life stuff"),
          ("everyday stuff",), ("contemporary", "realistic", "modern")),
    Value("philosophy", ("philosoph",), ("philosophy", "philosopher", "meaning"),
          ("philosophy", "a philosophical book", "something about big ideas"),
          ("philosophy",), ("philosoph",)),
    Value("short stories", ("short-stories", "short-story", "anthology", "anthologies"), (),
          ("short stories", "a collection of stories"), ("short stories",), ("short stor",)),
)

AUDIENCES = (
    Value("children", ("child", "children", "childrens", "kids", "kid", "juvenile",
                       "middle-grade", "picture-book", "picture-books", "chapter-books"),
          ("children", "kids"),
          ("for kids", "a children's book", "something for a child",
           "for my nephew, he's nine"),
          ("kids' books",), ("child", "kid", "middle grade", "picture", "junior")),
    Value("teen", ("ya", "teen", "teens", "teenlit", "young-adult", "youth"),
          ("teenager", "teenage", "teen", "highschool"),
          ("young adult", "for a teenager", "a teen book", "YA"),
          ("teen books",), ("young adult", "teen", "ya", "youth")),
    Value("adult", (), (),
          ("for adults", "for me, a grown-up", "an adult book"),
          ("adult books",), ("adult", "grown")),
)

TONES = (
    Value("dark", ("dark", "gritty", "disturbing", "psychological", "noir", "horror", "dystop"),
          ("brutal", "violent", "abuse", "torture", "disturbing", "haunting", "murdered",
           "killer", "darkness"),
          ("quite dark", "pretty bleak", "heavy going", "a bit grim"),
          ("dark stuff",), ("dark", "grim", "bleak", "gritty", "disturbing")),
    Value("funny", ("humor", "humour", "comedy", "funny", "satire", "comic-fantasy"),
          ("hilarious", "funny", "witty", "laugh", "humour", "humor", "comedy", "comic"),
          ("funny", "something that made me laugh", "witty", "really funny"),
          ("jokes",), ("funny", "humor", "humour", "comedy", "witty", "laugh", "hilarious")),
    Value("light", ("cozy", "cosy", "feel-good", "chick-lit", "clean-romance", "lighthearted"),
          ("charming", "heartwarming", "delightful", "cozy", "cosy", "sweet"),
          ("light and easy", "cosy", "a feel-good read", "nothing too heavy"),
          ("fluff",), ("cosy", "cozy", "light", "feel good", "feel-good", "heartwarming",
                       "charming", "gentle")),
    Value("sad", ("tear-jerker", "tearjerker", "sad", "grief", "emotional"),
          ("grief", "loss", "tragedy", "tragic", "heartbreaking", "dying", "cancer"),
          ("sad", "a real tear-jerker", "emotional", "the kind of book that makes you cry"),
          ("sad stuff",), ("sad", "tear", "emotional", "moving")),
    Value("scary", ("horror", "ghost", "creepy", "scary"),
          ("terrifying", "haunted", "horror", "nightmare", "monster"),
          ("scary", "creepy", "something that gives me chills"),
          ("scary stuff",), ("scary", "creepy", "spooky", "frighten", "terrif", "chilling",
                             "eerie")),
    Value("exciting", ("action", "adventure", "thriller", "fast-paced"),
          ("thrilling", "action", "chase", "race", "danger", "dangerous", "deadly", "escape"),
          ("exciting", "fast-paced", "action-packed", "something I couldn't put down"),
          ("action",), ("exciting", "thrilling", "fast", "action", "gripping", "page turner",
                        "page-turner")),
    Value("romantic", ("romance", "romantic"), ("love", "romance", "passion"),
          ("romantic", "swoony"), ("soppy stuff",), ("romantic", "romance", "love")),
    Value("thoughtful", ("philosoph", "literary", "classic"),
          ("profound", "meditation", "philosophy", "meaning", "soul"),
          ("thought-provoking", "something that makes you think", "deep"),
          ("heavy stuff",), ("thought", "deep", "profound", "philosoph", "think")),
    Value("uplifting", ("inspirational", "uplifting", "inspiring"),
          ("hope", "inspiring", "uplifting", "courage", "hopeful"),
          ("uplifting", "hopeful", "inspiring"), ("depressing stuff",),
          ("uplift", "inspir", "hope", "positive")),
)

# The reader's own synonyms: imperfect memory of a word in the description.
SYNONYMS = {
    "murder": "killing", "murders": "killings", "killer": "murderer", "murderer": "killer",
    "detective": "investigator", "police": "cops", "wizard": "magician", "witch": "sorceress",
    "girl": "young woman", "boy": "kid", "woman": "lady", "women": "ladies", "man": "guy",
    "men": "guys", "father": "dad", "mother": "mum", "husband": "partner", "wife": "partner",
    "daughter": "girl", "son": "boy", "family": "relatives", "house": "home", "town": "village",
    "city": "town", "war": "fighting", "soldier": "fighter", "soldiers": "troops",
    "king": "ruler", "queen": "royal", "prince": "royal", "princess": "royal", "ship": "boat",
    "school": "academy", "teacher": "tutor", "doctor": "physician", "friend": "pal",
    "friends": "mates", "secret": "hidden thing", "secrets": "hidden things", "journey": "trip",
    "adventure": "quest", "planet": "world", "alien": "creature", "aliens": "creatures",
    "monster": "creature", "monsters": "creatures", "ghost": "spirit", "death": "dying",
    "body": "corpse", "farm": "ranch", "horse": "pony", "dog": "puppy", "cat": "kitten",
    "money": "cash", "job": "work", "car": "vehicle", "lawyer": "attorney",
    "trial": "court case", "prison": "jail", "spy": "agent", "army": "troops",
    "forest": "woods", "sea": "ocean", "ocean": "sea", "river": "stream", "mountain": "hill",
    "mountains": "hills", "village": "town", "sister": "sibling", "brother": "sibling",
    "children": "kids", "child": "kid", "baby": "infant", "marriage": "wedding",
    "wedding": "marriage", "letter": "note", "letters": "notes", "diary": "journal",
    "student": "pupil", "students": "pupils", "college": "university", "magic": "spells",
    "vampire": "bloodsucker", "treasure": "gold", "battle": "fight", "kingdom": "realm",
    "empire": "realm", "investigation": "case", "affair": "fling", "escape": "getaway",
    "island": "isle", "journalist": "reporter", "scientist": "researcher", "dragon": "beast",
    "boyfriend": "partner", "girlfriend": "partner", "parents": "mum and dad", "home": "house",
    "hospital": "clinic", "church": "chapel", "road": "highway", "storm": "tempest",
}

_OPEN_VAGUE = ("Can you recommend a good book?", "What should I read next?",
               "I need something to read.", "Hi! I'm looking for a book.",
               "Hello, any ideas for my next read?")
_OPEN_INTRO = ("I'm looking for {x}.", "I'd like {x}.", "Do you have {x}?",
               "I'm in the mood for {x}.", "Any ideas for {x}?", "Hi, I want {x}.")
_REJECT = ("No, not those.", "None of those, sorry.", "Not really what I want.", "Hmm, no.",
           "Nope, not those.", "No, none of these.")
_DONT_KNOW = ("Not sure, I don't mind.", "No idea really, any is fine.",
              "I don't know, whatever you think.", "Hmm, no preference.", "I don't mind.")
_NONE_OF = ("None of those really.", "Not those, no.", "Neither, I think.")
_ACCEPT = ("Yes! The {o} one, that's it.", "That's it, the {o} one!",
           "Oh yes, the {o} one looks perfect.", "The {o} one! Great, thanks.")
_STUCK = ("Any other ideas?", "Something else, please.", "What else have you got?",
          "Other ones?")
_CHAT = ("Hmm, let me think.", "I've got a long train ride coming up.",
         "It's for the weekend.", "Sorry, my memory is terrible.",
         "My book club meets next month.", "Ha, this is fun.", "I read a lot.",
         "It's been a while since I heard about it.")
_ORD = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
_DECADE_WORD = {20: "twenties", 30: "thirties", 40: "forties", 50: "fifties", 60: "sixties",
                70: "seventies", 80: "eighties", 90: "nineties"}
_BOOKKEEPING = ("read", "own", "favorite", "favourite", "kindle", "library", "book-club",
                "wish", "default", "audio", "ebook", "shelf", "buy", "tbr", "dnf", "series",
                "owned", "borrowed", "abandoned", "re-read", "reread", "i-")

_TOKEN = re.compile(r"[A-Za-z][A-Za-z']*")
_SENT = re.compile(r"(?<=[.!?])\s*(?=[A-Z\"'\u201c])")


def _words(text: str) -> list[str]:
    return [w.lower().strip("'") for w in _TOKEN.findall(text or "")]


def phrases() -> list[str]:
    """Every hand-written string the reader can say (paraphrases, synonyms, templates)."""
    out: list[str] = []
    for table in (GENRES, AUDIENCES, TONES):
        for v in table:
            out += [*v.say, *v.no]
    out += [*SYNONYMS.values(), *_OPEN_VAGUE, *_OPEN_INTRO, *_REJECT, *_DONT_KNOW, *_NONE_OF,
            *_ACCEPT, *_STUCK, *_CHAT, *_DECADE_WORD.values(), *_ERA_SAY, *_LENGTH_SAY["short"],
            *_LENGTH_SAY["long"], *_MEMORY_ONE, *_MEMORY_TWO, *_REASONS]
    return out


def vocabulary() -> frozenset[str]:
    """Every word of the reader's hand-written vocabulary."""
    return frozenset(FUNCTION | {w for p in phrases() for w in _words(p)})


# ---- what the reader knows about a book --------------------------------------------------
def _tag_hits(tag: str, cues: tuple[str, ...]) -> bool:
    toks = tag.lower().split("-")
    for c in cues:
        if "-" in c:
            if c in tag.lower():
                return True
        elif len(c) <= 3:
            if c in toks:
                return True
        elif any(t.startswith(c) for t in toks):
            return True
    return False


def _scores(tags: list[str], words: set[str], table: tuple[Value, ...]) -> dict[str, float]:
    """How strongly the book's own shelves and description suggest each value: a shelf that
    matches k values counts 1/k for each; a suggestive description word 0.5 (at most 2)."""
    sc = {v.name: 0.0 for v in table}
    for t in tags:
        hit = [v.name for v in table if _tag_hits(t, v.tags)]
        for n in hit:
            sc[n] += 1.0 / len(hit)
    for v in table:
        sc[v.name] += min(2.0, 0.5 * len(words & set(v.words)))
    return sc


def _ranked(sc: dict[str, float], floor: float, share: float) -> list[str]:
    best = max(sc.values(), default=0.0)
    return [n for n, s in sorted(sc.items(), key=lambda x: -x[1])
            if s >= floor and s >= share * best]


def _is_adj(word: str) -> bool:
    if word in _ADJ:
        return True
    if word in _NOUN_LIKE_ADJ:
        return False
    if word.endswith("ed") and len(word) > 4 and not word.endswith("eed"):
        return True                                   # "a loved one", "the haunted house"
    if len(word) <= 5:
        return False
    return word.endswith(_ADJ_END) or word.endswith("ing")


def _banned(book) -> set[str]:
    """Title and author words (and their simple plural / singular forms)."""
    from coverstory.catalog.normalize import fold

    out = set()
    for w in re.findall(r"[a-z]+", fold(" ".join([book.title, *book.authors]))):
        if w in FUNCTION or len(w) < 2:
            continue
        out.update({w, w + "s", w + "es", w[:-1] if w.endswith("s") else w})
    return out


def _a(word: str) -> str:
    if word.endswith("s") or " " in word:
        return word
    return ("an " if word[0] in "aeiou" else "a ") + word


_ERA_SAY = ("from around {y} I think", "from the {d}", "written in the {d}", "an older one",
            "a fairly recent one", "came out in the last few years", "from the {w}",
            "an old one, from the 1800s I think", "something from the nineteenth century",
            "a really old one", "early twentieth century, I think", "from the early 2000s",
            "published after 2010 I think")
_LENGTH_SAY = {"short": ("a short one", "a quick read", "not very long"),
               "long": ("a long one", "a big thick book", "a real doorstopper")}
_MEMORY_ONE = ("I remember something about {a}.", "There's {a} in it, I think.",
               "It has {a} in it somewhere.", "Something with {a}.",
               "There was {a}, if I remember right.")
_MEMORY_TWO = ("Something about {a} and {b}.", "I remember {a}... and {b}, maybe?",
               "There's {a} and {b} in it, I think.", "It had {a}, and {b}.")
_REASONS = ("No {x} please.", "Not into {x}.", "Less {x}.", "Something older.",
            "Older than that, I think.", "Something more recent.", "Newer than that.",
            "It should be for a child.", "Not a kids' book.", "Something for teenagers.",
            "For grown-ups.")


class Reader:
    """One simulated reader of one target book (see the module docstring)."""

    def __init__(self, book, rng: random.Random, lookup=None):
        self.book, self.rng, self.lookup = book, rng, lookup
        self.target = int(book.id)
        self.banned = _banned(book)
        desc = book.description or ""
        self.desc_words = set(_words(desc))
        tags = list(book.tags) + list(getattr(book, "categories", []) or [])
        self.tags = {t.lower() for t in tags}
        self.genres = _ranked(_scores(tags, self.desc_words, GENRES), 1.5, 0.35)[:3]
        aud = _scores(tags, self.desc_words, AUDIENCES)
        self.audience = [a for a in ("children", "teen") if aud[a] >= 3] or ["adult"]
        self.tones = _ranked(_scores(tags, self.desc_words, TONES), 1.5, 0.4)[:2]
        self.year = None
        if book.year is not None:
            slip = rng.random() < 0.25          # misremembers the decade now and then
            self.year = int(book.year) + (rng.choice((-1, 1)) * rng.randint(6, 12) if slip else 0)
        pages = getattr(book, "pages", None)
        self.length = None if not pages else ("short" if pages < 250 else
                                              "long" if pages > 450 else "medium")
        self.memory = self._remember(desc)
        self.recall = {}                         # shelf -> whether this reader would know it
        self.facts = self._facts()
        self.said: list[str] = []

    # ---- knowledge ------------------------------------------------------------------------
    def _usable(self, word: str) -> bool:
        return (word.isalpha() and len(word) >= 4 and word not in FUNCTION
                and word not in _GENERIC and word not in _DETERMINERS
                and word not in self.banned and word not in self.tags
                and word not in _NOT_NOUN and not word.endswith("ly"))

    def _remember(self, desc: str) -> list[list[str]]:
        """One or two fragments of the story: nouns (with an adjective now and then) that follow
        a determiner in a random sentence; some swapped for a synonym, some forgotten."""
        sentences = [s for s in _SENT.split(desc) if len(s.split()) >= 6
                     and not re.search(r"librarian|isbn|edition|copyright|bestsell", s, re.I)]
        found = []
        for s in self.rng.sample(sentences, len(sentences)):
            toks = _TOKEN.findall(s)
            cands = []
            for i, w in enumerate(toks[:-1]):
                if w.lower() not in _DETERMINERS:
                    continue
                run = []                     # lower-case content words after the determiner
                for x in toks[i + 1:i + 4]:
                    if not x.islower() or x in _NOT_NOUN or x in FUNCTION or x.endswith("ly"):
                        break
                    run.append(x)
                if len(run) < len(toks[i + 1:i + 4]) and i + 1 + len(run) < len(toks) \
                        and toks[i + 1 + len(run)][:1].isupper():
                    continue                 # "the proud Darcy": a name follows
                adj = None
                for j, x in enumerate(run):
                    if _is_adj(x) and j + 1 < len(run):
                        adj = x              # a modifier: the noun comes after it
                        continue
                    if not _is_adj(x) and self._usable(x):
                        cands.append((adj if adj and self._usable(adj) else None, x))
                    break
            if not cands:
                continue
            picked = self.rng.sample(cands, min(len(cands), self.rng.choice((1, 2, 2))))
            frag = []
            for adj, noun in picked:
                r = self.rng.random()
                if r < 0.2:
                    continue                                # forgotten
                if r < 0.5 and noun in SYNONYMS and self._clean(SYNONYMS[noun]) \
                        and self._not_shelf(SYNONYMS[noun]):
                    noun = SYNONYMS[noun]
                    adj = None
                words = f"{adj} {noun}" if adj and self.rng.random() < 0.3 else noun
                if self._clean(words) and self._not_shelf(words) and words not in frag:
                    frag.append(words)
            if frag:
                found.append(frag)
            if len(found) == 2:
                break
        return found

    def _clean(self, text: str) -> bool:
        """No title or author word."""
        from coverstory.catalog.normalize import fold

        return not any(w in self.banned for w in re.findall(r"[a-z]+", fold(text)))

    def _not_shelf(self, phrase: str) -> bool:
        """A remembered phrase is never one of the book's shelf names verbatim."""
        low = " ".join(_words(phrase.replace("-", " ")))
        return not any(low == t.replace("-", " ") or low.endswith(" " + t.replace("-", " "))
                       for t in self.tags)

    def _pick(self, options) -> str | None:
        ok = [o for o in options if self._clean(o)]
        return self.rng.choice(ok) if ok else None

    def _value(self, table, name):
        return next(v for v in table if v.name == name)

    def _era_phrase(self) -> str | None:
        y = self.year
        if y is None:
            return None
        if y < 1900:
            opts = (_ERA_SAY[7], _ERA_SAY[8], _ERA_SAY[9])
        elif y < 1960:
            d = (y // 10) * 10
            opts = (_ERA_SAY[10], f"from the {d}s", _ERA_SAY[3]) + (
                (f"from the {_DECADE_WORD[d % 100]}",) if d % 100 in _DECADE_WORD else ())
        elif y < 2000:
            d = (y // 10) * 10
            opts = (f"from the {d % 100}s", f"from the {_DECADE_WORD[d % 100]}",
                    f"written in the {d}s", f"from around {y} I think")
        elif y < 2010:
            opts = (_ERA_SAY[11], "from the 2000s", f"from around {y} I think")
        else:
            opts = (_ERA_SAY[4], _ERA_SAY[5], _ERA_SAY[12])
        return self._pick(opts)

    def _memory_phrase(self) -> str | None:
        while self.memory:
            frag = self.memory.pop(0)
            items = [_a(w) if self.rng.random() < 0.5 else w for w in frag]
            if len(items) == 1:
                s = self.rng.choice(_MEMORY_ONE).format(a=items[0])
            else:
                s = self.rng.choice(_MEMORY_TWO).format(a=items[0], b=items[1])
            if self._clean(s):
                return s
        return None

    def _facts(self) -> list:
        """What the reader may volunteer, in a random order (the story first, more often)."""
        facts = [("memory", None)] * len(self.memory)
        facts += [("tone", t) for t in self.tones[:1]]
        if self.year is not None:
            facts.append(("era", None))
        if self.audience != ["adult"] or self.rng.random() < 0.3:
            facts.append(("audience", self.audience[0]))
        if self.length in ("short", "long"):
            facts.append(("length", self.length))
        facts += [("genre", g) for g in self.genres[1:2]]
        self.rng.shuffle(facts)
        facts.sort(key=lambda f: 0 if f[0] == "memory" and self.rng.random() < 0.6 else 1)
        return facts

    def _fact(self, kind: str, value) -> str | None:
        if kind == "memory":
            return self._memory_phrase()
        if kind == "era":
            p = self._era_phrase()
            if p and p.startswith(("a ", "an ", "something", "early")):
                return self._pick((f"I'd like {p}.", f"Maybe {p}."))
            return p and self._pick((f"It should be {p}.", f"Maybe something {p}.",
                                     f"Ideally {p}."))
        if kind == "length":
            p = self._pick(_LENGTH_SAY[value])
            return p and self._pick((f"Oh, and {p}.", f"Ideally {p}.", f"It's {p}."))
        table = {"tone": TONES, "audience": AUDIENCES, "genre": GENRES}[kind]
        p = self._pick(self._value(table, value).say)
        if p is None:
            return None
        if kind == "audience":
            return self._pick((f"It's {p}.", f"Oh, and it's {p}."))
        if kind == "tone":
            if p.startswith(("something", "a ", "the ")):
                return self._pick((f"Ideally {p}.", f"Maybe {p}."))
            return self._pick((f"Something {p}, maybe.", f"Ideally {p}.", f"I'd like it {p}."))
        return self._pick((f"Maybe {p}?", f"Also {p}."))

    def volunteer(self) -> str | None:
        while self.facts:
            kind, value = self.facts.pop(0)
            s = self._fact(kind, value)
            if s:
                return s
        return None

    # ---- judging the bot's options ----------------------------------------------------------
    def _hear(self, option: str, tables) -> tuple[tuple, Value] | None:
        low = " " + " ".join(_words(option.replace("-", " "))) + " "
        raw = option.lower()
        best = None
        for table in tables:
            for v in table:
                for h in v.hear:
                    if "-" in h or " " in h:
                        hit = h in raw or f" {h.replace('-', ' ')} " in low
                    else:
                        hit = f" {h}" in low if len(h) > 3 else f" {h} " in low
                    if hit and (best is None or len(h) > best[0]):
                        best = (len(h), table, v)
        return (best[1], best[2]) if best else None

    def _years_of(self, option: str) -> tuple[float, float] | None:
        low = option.lower()
        nums = [int(n) for n in re.findall(r"\b(1[0-9]{3}|20[0-9]{2})\b", low)]
        dec = re.search(r"\b(1[0-9]{3}|20[0-9]{2})s\b", low) or re.search(r"\b([0-9]0)s\b", low)
        if "before" in low and nums:
            return (-1e9, nums[0] - 0.5)
        if re.search(r"or later|after|since|onwards|or newer", low) and nums:
            return (nums[0], 1e9)
        if len(nums) >= 2:
            return (nums[0], nums[1] + 0.99)
        if dec:
            d = int(dec.group(1))
            d = d + (1900 if d < 100 else 0)
            return (d, d + 9.99)
        if "century" in low:
            m = re.search(r"(\d{2})(st|nd|rd|th)", low)
            if m:
                c = int(m.group(1))
                return ((c - 1) * 100, c * 100 - 0.01)
        if re.search(r"recent|new|latest|modern", low):
            return (2010, 1e9)
        return None

    def _knows_shelf(self, option: str) -> bool | None:
        opt = option.lower().strip()
        slug = opt.replace(" ", "-")
        if any(b in slug for b in _BOOKKEEPING) or re.search(r"\d", slug):
            return None                                   # not something a reader knows
        if slug in self.tags:
            if slug not in self.recall:
                self.recall[slug] = self.rng.random() < 0.75
            return True if self.recall[slug] else None
        ws = [w for w in _words(opt) if len(w) >= 4]
        if ws and all(w in self.desc_words or w.rstrip("s") in self.desc_words
                      or w + "s" in self.desc_words for w in ws):
            return True
        return False

    def judge(self, option: str, facet: str | None) -> tuple[bool | None, str | None]:
        """(does the option fit the book -- None if the reader can't tell, own words for it)."""
        if facet in ("era", "year", "decade") or (facet is None and re.search(r"\d{4}|\d0s", option)):
            yrs = self._years_of(option)
            if yrs is None or self.year is None:
                return None, None
            fits = yrs[0] <= self.year <= yrs[1]
            return fits, (self._era_phrase() if fits else None)
        if facet == "length" or (facet is None and re.search(r"\bpages?\b", option.lower())):
            if self.length is None:
                return None, None
            low = option.lower()
            m = re.search(r"(under|less than|up to|over|more than|at least)\s*(\d+)", low)
            pages = getattr(self.book, "pages", None)
            if m and pages:
                n = int(m.group(2))
                fits = pages < n if m.group(1) in ("under", "less than", "up to") else pages > n
            else:
                want = "short" if re.search(r"short|quick", low) else \
                    "long" if re.search(r"long|epic|thick", low) else "medium"
                fits = want == self.length
            return fits, (self._pick(_LENGTH_SAY.get(self.length, ())) if fits else None)
        order = {"audience": (AUDIENCES, GENRES, TONES), "mood": (TONES, GENRES, AUDIENCES),
                 "tone": (TONES, GENRES, AUDIENCES)}.get(facet, (GENRES, TONES, AUDIENCES))
        if facet not in ("theme", "themes", "tag"):
            got = self._hear(option, order)
            if got is not None:
                table, v = got
                mine = {id(GENRES): self.genres, id(TONES): self.tones,
                        id(AUDIENCES): self.audience}[id(table)]
                fits = v.name in mine
                return fits, (self._pick(v.say) if fits else None)
        known = self._knows_shelf(option)
        return known, None

    # ---- one turn -------------------------------------------------------------------------------
    def opening(self) -> str:
        r = self.rng.random()
        g = self.genres[0] if self.genres else None
        if g is None or r < 0.25:
            return self._finish(self._pick(_OPEN_VAGUE) or "Hello.")
        x = self._pick(self._value(GENRES, g).say)
        if x is None:
            return self._finish(self._pick(_OPEN_VAGUE) or "Hello.")
        intro = self._pick(_OPEN_INTRO)
        s = intro.format(x=x) if intro else x
        if r > 0.75:
            more = self._fact(*self.facts.pop(0)) if self.facts else None
            s = f"{s} {more}" if more else s
        return self._finish(s)

    def respond(self, reply) -> tuple[str, bool]:
        """(what the reader says next, whether they accept)."""
        ids = [int(b["id"]) for b in (getattr(reply, "books", None) or [])]
        if self.target in ids:
            o = _ORD[ids.index(self.target)] if ids.index(self.target) < len(_ORD) else "last"
            i = ids.index(self.target)
            said = (self._pick([a.format(o=o) for a in _ACCEPT])
                    or self._pick([f"Yes, number {i + 1}!", "Yes! That's it."]) or "Yes!")
            self.said.append(said)
            return said, True
        parts = []
        if ids:
            parts.append(self.rng.choice(_REJECT))
            if self.rng.random() < 0.6:
                why = self._reason(ids)
                if why:
                    parts.append(why)
        question = getattr(reply, "question", None)
        facet = getattr(reply, "question_facet", None)
        options = list(getattr(reply, "options", None) or [])
        if question or facet or options:
            parts.append(self._answer(question or "", facet, options))
        else:
            fact = self.volunteer()
            parts.append(fact or self.rng.choice(_STUCK))
        return self._finish(" ".join(p for p in parts if p)), False

    def _answer(self, question: str, facet: str | None, options: list[str]) -> str:
        if not options:
            return self._open_answer(question, facet)
        yes, no = [], []
        for o in options:
            fits, own = self.judge(o, facet)
            if fits is True:
                say = own if own and self.rng.random() < 0.5 else o.replace("-", " ")
                if not self._clean(say):
                    say = own if own and self._clean(own) else None
                if say:
                    yes.append(say)
            elif fits is False and self._clean(o):
                no.append(o.replace("-", " "))
        if yes:
            words = " and ".join(yes[:2])
            s = self.rng.choice((f"{words}, I think.", f"Yes, {words}.",
                                 f"{words} sounds right."))
            s = s[0].upper() + s[1:]
            if no and self.rng.random() < 0.5:
                s = s[:-1] + f", but not {self.rng.choice(no)}."
            return s
        if no:
            more = self.volunteer() if self.rng.random() < 0.5 else None
            return self.rng.choice(_NONE_OF) + (f" {more}" if more else "")
        return self.rng.choice(_DONT_KNOW)

    def _open_answer(self, question: str, facet: str | None) -> str:
        q = question.lower()
        kind = facet
        if kind is None:
            kind = ("audience" if re.search(r"\bwho\b|\bfor whom\b|\bage\b", q) else
                    "era" if re.search(r"\bwhen\b|old|new|recent|decade|year", q) else
                    "tone" if re.search(r"mood|feel|tone", q) else
                    "length" if re.search(r"long|length|pages|short", q) else
                    "genre" if re.search(r"genre|kind of|type of", q) else "about")
        s = None
        if kind in ("about", "themes", "theme", "plot", "tag"):
            s = self._memory_phrase()
            if s is None:
                s = self.volunteer()
                s = s and "I don't remember much about the story, sorry. " + s
        elif kind == "era":
            s = self._fact("era", None)
        elif kind == "audience":
            s = self._fact("audience", self.audience[0])
        elif kind in ("mood", "tone") and self.tones:
            s = self._fact("tone", self.tones[0])
        elif kind == "length" and self.length in ("short", "long"):
            s = self._fact("length", self.length)
        elif kind == "genre" and self.genres:
            s = self._fact("genre", self.genres[0])
        return s or self.rng.choice(_DONT_KNOW)

    def _reason(self, ids: list[int]) -> str | None:
        """Why the first suggestion is wrong, in the reader's words (when they can tell)."""
        other = self.lookup(ids[0]) if self.lookup else None
        if other is None:
            return None
        reasons = []
        words = set(_words(other.description or ""))
        og = _ranked(_scores(list(other.tags), words, GENRES), 1.5, 0.25)[:1]
        if og and og[0] not in self.genres:
            x = self._pick(self._value(GENRES, og[0]).no)
            if x:
                reasons.append(self.rng.choice(_REASONS[:3]).format(x=x))
        oa = _scores(list(other.tags), words, AUDIENCES)
        other_aud = [a for a in ("children", "teen") if oa[a] >= 3] or ["adult"]
        if other_aud[0] not in self.audience:
            mine = self.audience[0]
            reasons.append("It should be for a child." if mine == "children" else
                           "Something for teenagers." if mine == "teen" else
                           "Not a kids' book." if other_aud[0] == "children" else "For grown-ups.")
        if self.year is not None and other.year is not None and abs(self.year - other.year) > 15:
            reasons.append(self.rng.choice(_REASONS[3:5] if self.year < other.year
                                           else _REASONS[5:7]))
        reasons = [r for r in reasons if self._clean(r)]
        return self.rng.choice(reasons) if reasons else None

    # ---- noise ------------------------------------------------------------------------------------
    def _finish(self, text: str) -> str:
        # a last guard: a sentence with a title or author word is not said
        text = " ".join(x for x in re.split(r"(?<=[.!?])\s+", text) if self._clean(x)) \
            or self._pick(_STUCK) or "Hmm."
        if self.rng.random() < 0.15:
            chat = self._pick(_CHAT)
            if chat:
                text = f"{chat} {text}" if self.rng.random() < 0.5 else f"{text} {chat}"
        out = []
        for tok in re.split(r"(\s+)", text):
            if len(tok) >= 4 and tok.isalpha() and self.rng.random() < 0.03:
                typo = _typo(tok, self.rng)
                tok = typo if self._clean(typo) else tok   # a typo never makes a title word
            out.append(tok)
        text = "".join(out)
        self.said.append(text)
        return text


_KEYS = "qwertyuiop asdfghjkl zxcvbnm"


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:                                      # swap two letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:                                      # drop one
        return word[:i] + word[i + 1:]
    if kind == 2:                                      # double one
        return word[:i] + word[i] + word[i:]
    row = next((r for r in _KEYS.split() if word[i].lower() in r), None)   # neighbouring key
    if not row:
        return word
    j = row.index(word[i].lower())
    near = row[j - 1] if j > 0 and (j == len(row) - 1 or rng.random() < 0.5) else row[min(j + 1, len(row) - 1)]
    return word[:i] + near + word[i + 1:]


# ---- running conversations -------------------------------------------------------------------
class Shelf:
    """Book records by id from a catalog, cached (what a reader can know of a book)."""

    def __init__(self, catalog):
        self.catalog = catalog
        self._books: dict[int, object] = {}

    def __call__(self, book_id: int):
        b = int(book_id)
        if b not in self._books:
            got = self.catalog.books([b])
            self._books[b] = got[0] if got else None
        return self._books[b]

    def preload(self, ids) -> None:
        missing = [int(i) for i in ids if int(i) not in self._books]
        for b in self.catalog.books(missing):
            self._books[b.id] = b


def reader_for(book, seed: int, lookup=None) -> Reader:
    """The reader of one target: the same person (same knowledge) under every policy."""
    return Reader(book, random.Random(f"reader:{seed}:{int(book.id)}"), lookup)


def simulate(engine, shelf: Shelf, book_ids: list[int], policy: str, max_turns: int,
             seed: int, tag: str = "sim", keep: int = 3) -> list[dict]:
    """One conversation per target through ``engine.turn`` (text only); per-target outcomes.

    success_turn = the first turn whose reply shows the target (turn 1 answers the opening);
    ms = wall time of each ``engine.turn`` call. Transcripts are kept for the first ``keep``
    targets, and the reader's lines for all (for the leak audit)."""
    shelf.preload(book_ids)
    out = []
    for n, bid in enumerate(book_ids):
        book = shelf(bid)
        reader = reader_for(book, seed, shelf)
        sid = f"{tag}-{policy}-{seed}-{int(bid)}"
        text, success, ms, lines = reader.opening(), None, [], []
        for t in range(1, max_turns + 1):
            t0 = time.perf_counter()
            reply = engine.turn(sid, text=text)
            ms.append((time.perf_counter() - t0) * 1000)
            books = getattr(reply, "books", None) or []
            lines.append({"reader": text, "bot": getattr(reply, "text", ""),
                          "question": getattr(reply, "question", None),
                          "options": list(getattr(reply, "options", None) or []),
                          "books": [b.get("title") for b in books]})
            text, accepted = reader.respond(reply)
            if accepted:
                success = t
                lines.append({"reader": text})
                break
        out.append({"book_id": int(bid), "success_turn": success, "turns": len(ms), "ms": ms,
                    "shown_per_turn": [len(x["books"]) for x in lines if "books" in x],
                    "lines": lines, "keep": n < keep})
    return out


def summarise(results: list[dict]) -> dict:
    import numpy as np

    n = len(results)
    ok = [r["success_turn"] for r in results if r["success_turn"] is not None]
    ms = [m for r in results for m in r["ms"]]
    shown = [s for r in results for s in r.get("shown_per_turn", [])]
    return {"n": n,
            "success@1": sum(1 for s in ok if s <= 1) / n if n else None,
            "success@3": sum(1 for s in ok if s <= 3) / n if n else None,
            "success@5": sum(1 for s in ok if s <= 5) / n if n else None,
            "success@max": len(ok) / n if n else None,
            "mean_turns_to_success": float(np.mean(ok)) if ok else None,
            "turns": len(ms),
            "p50_ms": float(np.percentile(ms, 50)) if ms else None,
            "p95_ms": float(np.percentile(ms, 95)) if ms else None,
            "books_per_turn": float(np.mean(shown)) if shown else None}
