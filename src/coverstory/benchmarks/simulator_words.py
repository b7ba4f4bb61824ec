"""The simulated reader's own hand-written vocabulary (coverstory.benchmarks.simulator): function
words, facet values and their paraphrases, synonyms, and the phrases a reader says; never the
bot's lexicon, the catalog's tag names or the search index. A pure move out of
simulator.py, whose docstring describes the reader."""

from __future__ import annotations

import re
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


# ---- how a reader says what they know of a book ------------------------------------------
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
