"""The attributes the bot talks about: facets, their values, how books carry them, how readers say them.

A *facet* is an attribute a reader can state or be asked about (genre, audience, era, mood,
length). Each value says which catalog tags / shop categories / description words mark a
book as having it, and which surface forms a reader uses for it. Themes are not listed here:
they are the catalog's own tags (see :mod:`coverstory.dialogue.bookindex`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Value:
    """One value of a facet: how books carry it and how readers name it."""

    name: str                                   # canonical, shown to readers
    tags: tuple[str, ...] = ()                  # exact goodbooks shelf tags
    tag_contains: tuple[str, ...] = ()          # any shelf tag containing one of these
    categories: tuple[str, ...] = ()            # Book Depository categories
    words: tuple[str, ...] = ()                 # description words that also mark it
    say: tuple[str, ...] = ()                   # reader surface forms (lower case)
    years: tuple[int, int] | None = None        # era: [from, to)
    pages: tuple[int, int] | None = None        # length: [from, to)

    def marks(self, tag: str) -> bool:
        """A shelf tag that marks this value (exact, or containing one of its parts)."""
        return tag in self.tags or any(s in tag for s in self.tag_contains)


@dataclass(frozen=True)
class Facet:
    name: str
    question: str                                # how the bot asks about it
    values: tuple[Value, ...] = field(default_factory=tuple)
    multi: bool = True                           # a book may have several values

    def value(self, name: str) -> Value | None:
        return next((v for v in self.values if v.name == name), None)


GENRE = Facet("genre", "What kind of book are you in the mood for — {options}?", (
    Value("fantasy", tag_contains=("fantasy",), categories=("Science-Fiction-Fantasy-Horror",),
          say=("fantasy", "fantasy novel", "sword and sorcery", "epic fantasy", "high fantasy")),
    Value("science fiction", tags=("science-fiction", "sci-fi", "scifi", "sciencefiction",
                                   "cyberpunk", "space", "aliens", "space-travel"),
          tag_contains=("sci-fi", "science-fiction", "scifi", "military-sf"),
          say=("science fiction", "sci-fi", "scifi", "sci fi", "sf", "space opera")),
    Value("mystery", tag_contains=("mystery", "mysteries", "detective", "whodunit", "cozy-myst"),
          categories=("Crime-Thriller",),
          say=("mystery", "mysteries", "detective", "whodunit", "detective story", "whodunnit",
               "whodunnits", "whodunits", "murder mystery", "murder mysteries", "sleuth",
               "murder mystery", "sleuth")),
    Value("thriller", tag_contains=("thriller", "suspense"),
          say=("thriller", "thrillers", "suspense", "suspenseful", "spy thriller", "spy novel",
               "spy novels", "spy story", "spy stories", "espionage")),
    Value("crime", tag_contains=("crime", "noir", "true-crime"),
          say=("crime", "crime novel", "noir", "heist", "gangster")),
    Value("romance", tag_contains=("romance", "love-story", "chick-lit", "romances"),
          categories=("Romance",),
          say=("romance", "romantic", "love story", "love stories", "romcom", "rom com",
               "chick lit")),
    Value("horror", tag_contains=("horror", "ghost", "creepy", "gothic"),
          say=("horror", "horror story", "ghost story", "ghost stories", "gothic", "horror novel")),
    Value("historical fiction", tag_contains=("historical-fic", "historicalfic", "historic-fic",
                                              "fiction-historical", "historical-novel",
                                              "historicals", "historical-romance"),
          say=("historical fiction", "historical novel", "period drama", "historical",
               "set in the past", "period piece", "period pieces", "historicals")),
    Value("classics", tag_contains=("classic",),
          say=("classic", "classics", "classic novel", "literary classic")),
    Value("literary fiction", tag_contains=("literary-fiction", "literature"),
          say=("literary fiction", "literary", "literature")),
    Value("dystopian", tags=("ya-dystopia",), tag_contains=("dystop", "post-apoc"),
          words=("dystopian", "post-apocalyptic", "totalitarian"),
          say=("dystopian", "dystopia", "post apocalyptic", "post-apocalyptic")),
    Value("paranormal", tag_contains=("paranormal", "vampire", "supernatural", "witch"),
          say=("paranormal", "supernatural", "vampires", "vampire", "werewolves")),
    Value("non-fiction", tag_contains=("non-fiction", "nonfiction"),
          categories=("Society-Social-Sciences", "Science-Geography", "History-Archaeology",
                      "Business-Finance-Law", "Reference", "Health", "Natural-History",
                      "Personal-Development", "Food-Drink", "Travel-Holiday-Guides",
                      "Crafts-Hobbies", "Home-Garden", "Computing", "Technology-Engineering",
                      "Medical", "Sport", "Mind-Body-Spirit", "Teaching-Resources-Education"),
          say=("non-fiction", "nonfiction", "non fiction", "true story", "factual",
               "real events", "real life", "not made up", "actually happened", "true stories",
               "based on a true story", "based on real events", "not fiction", "essays",
               "essay collection", "essay collections", "collection of essays")),
    Value("biography", tag_contains=("biograph", "memoir", "autobiograph", "bio-memoir",
                                     "bios-memoirs"), categories=("Biography",),
          say=("biography", "biographies", "memoir", "memoirs", "autobiography", "life story")),
    Value("history", tags=("history", "world-history", "american-history", "military-history",
                           "ancient-history", "european-history", "british-history",
                           "microhistory"), tag_contains=("-history", "history-"),
          categories=("History-Archaeology",),
          say=("history", "history book", "history books")),
    Value("philosophy", tag_contains=("philosoph",),
          say=("philosophy", "philosophical", "philosopher")),
    Value("psychology", tag_contains=("psychology", "self-help", "social-psych"),
          categories=("Personal-Development", "Mind-Body-Spirit"),
          say=("psychology", "self help", "self-help", "personal development", "how the mind works")),
    Value("science", tags=("non-fiction-science", "nonfiction-science", "natural-history"),
          categories=("Science-Geography", "Natural-History"),
          say=("popular science", "science book", "pop science", "science books")),
    Value("business", tag_contains=("business", "economics", "finance"),
          categories=("Business-Finance-Law",),
          say=("business", "economics", "finance", "money", "management")),
    Value("religion", tag_contains=("christian", "religio", "religion"),
          categories=("Religion",),
          say=("christian", "religious", "religion", "faith", "spiritual")),
    Value("poetry", tag_contains=("poetry", "poems"), categories=("Poetry-Drama",),
          say=("poetry", "poems", "poem", "verse", "poet")),
    Value("comics", tags=("comic", "comics"),
          tag_contains=("graphic-novel", "manga", "manhwa", "comic-book", "comics-"),
          categories=("Graphic-Novels-Anime-Manga",),
          say=("comic", "comics", "graphic novel", "graphic novels", "manga", "comic book",
               "graphic memoir", "graphic memoirs")),
    Value("humour", tag_contains=("humor", "humour", "comic-fantasy"), categories=("Humour",),
          say=("humour", "humor", "comedy", "comic novel", "satire")),
    Value("war", tags=("war", "military", "warfare", "wars", "military-war", "war-military",
                       "civil-war", "cold-war"), tag_contains=("world-war", "military-"),
          say=("war", "war novel", "military", "world war", "soldiers", "battle", "ww2", "wwii",
               "ww1", "wwi", "world war two", "world war 2", "world war one", "world war 1",
               "second world war", "first world war", "the war")),
    Value("mythology", tag_contains=("myth", "fairy-tale", "folklore"),
          say=("mythology", "myths", "fairy tale", "fairy tales", "folklore", "legends",
               "greek myths")),
    Value("adventure", tag_contains=("adventure",), words=("adventure", "quest", "journey"),
          say=("adventure", "adventures", "quest", "adventure story")),
    Value("contemporary", tag_contains=("contemporary", "realistic-fiction", "modern-fiction",
                                        "general-fiction", "adult-fiction", "womens-fiction",
                                        "women-s-fiction"),
          say=("contemporary", "contemporary fiction", "realistic fiction", "modern fiction",
               "general fiction", "women's fiction", "realistic", "realistic story",
               "realistic stories", "realistic stuff", "realistic books", "realistic novels")),
    Value("plays", tags=("plays", "drama", "theatre", "theater", "poetry-and-plays",
                         "poetry-plays"), tag_contains=("plays", "playwright", "shakespeare"),
          categories=("Poetry-Drama",),
          say=("plays", "a play", "stage plays", "play scripts", "theatre", "theater",
               "stage drama")),
    Value("short stories", tags=("short-fiction",), tag_contains=("short-stor",),
          say=("short stories", "short story", "story collection", "anthology")),
))

AUDIENCE = Facet("audience", "Who is it for — {options}?", (
    Value("children", tags=("children", "child", "childhood", "childhood-books",
                            "childhood-favorites", "childhood-favourites", "chapter-books"),
          tag_contains=("childrens", "children-s", "middle-grade", "middle-grades", "juvenile",
                        "picture-book", "kids", "j-fiction", "junior", "young-children",
                        "newbery", "caldecott", "chapter-book"),
          categories=("Childrens-Books",),
          say=("children", "child", "kids", "kid", "my son", "my daughter", "middle grade",
               "8 year old", "ten year old", "10 year old", "bedtime", "picture book",
               "for a child", "children's", "childrens")),
    Value("young adult", tag_contains=("ya", "teen", "young-adult", "youth"),
          categories=("Teen-Young-Adult",),
          say=("young adult", "ya", "teen", "teens", "teenager", "teenage", "my teenager",
               "high school", "15 year old", "sixteen year old", "16 year old", "teenagers",
               "younger readers", "younger reader",
               "for teens", "adolescents", "teenage readers")),
    Value("adult", say=("adult", "adults", "grown-up", "grown up", "for me", "grownups",
                        "for adults", "adult fiction")),
), multi=True)

ERA = Facet("era", "Do you prefer something {options}?", (
    Value("before 1900", years=(-3000, 1900),
          say=("19th century", "victorian", "old classic", "ancient", "very old",
               "nineteenth century", "before 1900", "1800s", "actually old", "really old",
               "properly old", "genuinely old", "written long ago")),
    Value("1900 to 1959", years=(1900, 1960),
          say=("early 20th century", "1900s", "1920s", "1930s", "1940s", "1950s",
               "first half of the 20th century", "between the wars", "mid century")),
    Value("1960 to 1999", years=(1960, 2000),
          say=("1960s", "1970s", "1980s", "1990s", "60s", "70s", "80s", "90s",
               "late 20th century", "from the eighties", "from the nineties")),
    Value("2000 to 2009", years=(2000, 2010),
          say=("2000s", "noughties", "early 2000s", "from the 2000s", "2000 to 2009")),
    Value("2010 or later", years=(2010, 3000),
          say=("recent", "new", "newer", "brand new", "latest", "2010s", "contemporary release",
               "from the last few years", "published recently", "modern", "2010 or later",
               "written recently", "recently written", "recently published", "recently")),
), multi=False)

MOOD = Facet("mood", "What mood are you after — {options}?", (
    Value("dark", tags=("dark-romance", "noir", "gothic", "psychological-thriller", "creepy",
                        "horror", "dystopia", "ya-dystopia", "gritty-fantasy",
                        "transgressive-fiction"),
          tag_contains=("noir", "horror", "psychological-thriller", "serial-killer", "true-crime"),
          words=("dark", "brutal", "haunting", "grim", "disturbing", "violent", "bleak"),
          say=("dark", "grim", "bleak", "gritty", "disturbing", "haunting", "intense", "heavy")),
    Value("funny", tag_contains=("humor", "humour", "comic-fantasy"),
          words=("hilarious", "funny", "witty", "comic", "comedy", "laugh"),
          say=("funny", "funnier", "humorous", "hilarious", "witty", "make me laugh", "lighthearted",
               "light-hearted", "comic", "fun", "amusing")),
    Value("cosy", tags=("cozy-mystery", "mystery-cozy", "clean-romance", "animal-fiction"),
          words=("charming", "heartwarming", "cozy", "cosy", "delightful", "gentle"),
          say=("cosy", "cozy", "comforting", "gentle", "heartwarming", "charming", "warm",
               "feel good", "feel-good", "light read", "lighter", "easy read", "light",
               "cheerful", "cheery", "upbeat", "sweet", "wholesome")),
    Value("romantic", tag_contains=("romance",), words=("love", "romance", "passion"),
          say=("romantic", "swoony", "love", "passionate")),
    Value("uplifting", tags=("inspirational-fiction",), tag_contains=("inspirational", "christian"),
          words=("inspiring", "hope", "uplifting", "courage", "inspirational"),
          say=("uplifting", "inspiring", "hopeful", "inspirational", "positive", "motivating",
               "cheer me up", "cheer him up", "cheer her up", "cheer them up", "pick me up",
               "pick-me-up", "feel better", "feel-good story", "make me smile", "happy")),
    Value("thought-provoking", tag_contains=("philosoph", "literary-fiction", "classic"),
          words=("profound", "powerful", "thought-provoking", "questions", "meditation"),
          say=("thought-provoking", "thought provoking", "deep", "profound", "makes you think",
               "intellectual", "challenging", "philosophical", "literary")),
    Value("exciting", tag_contains=("thriller", "action", "adventure"),
          words=("thrilling", "action", "fast-paced", "gripping", "race", "chase", "danger"),
          say=("exciting", "thrilling", "fast paced", "fast-paced", "action", "page turner",
               "page-turner", "gripping", "action-packed", "adrenaline", "suspenseful")),
    Value("steamy", tag_contains=("erotic", "erotica", "smut", "steamy", "adult-romance",
                                  "new-adult", "bdsm", "dark-romance"),
          words=("erotic", "steamy", "explicit", "sensual"),
          say=("steamy", "racy", "spicy", "smutty", "explicit", "erotic", "sexy", "raunchy",
               "saucy", "smut", "x-rated", "swearing", "profanity", "bad language",
               "foul language", "cursing", "crude")),
    Value("scary", tag_contains=("horror", "ghost", "creepy", "supernatural"),
          words=("terrifying", "horror", "nightmare", "haunted", "monster", "evil"),
          say=("scary", "spooky", "creepy", "terrifying", "frightening", "chilling", "eerie")),
))

LENGTH = Facet("length", "How long would you like it — {options}?", (
    Value("short", pages=(0, 220), say=("short", "shorter", "quick read", "quick", "novella",
                                         "short book", "thin", "not too long", "brief",
                                         "short read", "afternoon read")),
    Value("medium", pages=(220, 450), say=("medium length", "average length", "normal length",
                                            "not too short")),
    Value("long", pages=(450, 100000), say=("long", "longer", "epic", "doorstopper", "chunky",
                                             "big book", "long read", "thick", "lengthy")),
), multi=False)

FACETS: dict[str, Facet] = {f.name: f for f in (GENRE, AUDIENCE, ERA, MOOD, LENGTH)}

# Words that turn the slot after them into an exclusion ("no romance", "nothing too dark").
NEGATORS = ("don't want", "do not want", "don't like", "didn't like", "not into", "don't need",
            "no", "not", "nothing", "without", "never", "none", "avoid", "except", "hate",
            "hated", "dislike", "don't", "dont", "do not", "didn't", "anything but", "less",
            "rather not", "can't stand", "cannot stand", "not too", "not so", "no more",
            "nothing too", "nothing with", "skip", "minus", "free of", "sick of", "tired of",
            "enough of", "instead of", "other than", "isn't", "isnt", "aren't", "arent",
            "wasn't", "not really", "hates", "dislikes", "doesn't like", "doesnt like",
            "does not like", "doesn't want", "doesnt want", "isn't into", "isnt into",
            "not a fan of", "no fan of", "can't bear", "loathe", "loathes", "detest", "detests",
            "burnt out on", "burned out on", "fed up with", "had enough of", "no more of",
            "do not need", "doesnt need", "not need", "no need for", "enough", "enough with",
            "done with", "forget", "forget about")
# Words that end the scope of a negation ("no romance but funny").
SCOPE_BREAK = ("but", "and", "just", "only", "rather", "though", "yet", "however", "instead",
               "prefer", "want", "like", "more", "please", "with", "something",
               "need", "needs")         # "not much, need a fantasy book"

POSITIVE = ("love", "loved", "like", "liked", "enjoy", "enjoyed", "great", "amazing", "lovely",
            "intriguing", "promising", "appealing",
            "brilliant", "wonderful", "fantastic", "favourite", "favorite", "perfect",
            "adore", "adored", "good", "excellent", "gripping", "beautiful", "yes", "awesome",
            "sounds good", "sounds great", "interesting", "fun")
# phrases that choose a book shown: "brill, I'll take the first one" (apostrophes dropped)
CHOOSING = ("ill take", "i will take", "ill go with", "i will go with", "ill get", "ill try",
            "ill read", "sounds good", "sounds great")
NEGATIVE = ("hate", "hated", "rubbish", "dreadful", "naff", "dislike", "disliked", "boring",
            "bored", "awful", "terrible",
            "bad", "meh", "dull", "slow", "not for me", "couldn't finish", "gave up", "no",
            "nope", "worst", "overrated", "annoying", "didn't like", "did not like", "isn't for me",
            "is not for me", "isnt for me", "not my cup of tea", "not my kind of thing",
            "don't like", "not really", "not my thing", "pass", "does not appeal",
            "doesn't appeal", "doesnt appeal", "not appealing")

# Readers' names for narrow shelves that no facet covers: phrase -> the catalog shelf it
# means (used when the catalog has that shelf; "spy thrillers" is also the thriller genre)
SHELF_WORDS = {
    "scandi crime": "nordic-noir", "scandinavian crime": "nordic-noir", "nordic noir":
    "nordic-noir", "nordic crime": "nordic-noir", "scandi noir": "nordic-noir",
    "hard sf": "hard-sci-fi", "hard science fiction": "hard-sci-fi", "hard scifi": "hard-sci-fi",
    "hard sci fi": "hard-sci-fi", "spy thriller": "spy-thriller", "spy thrillers": "spy-thriller",
    "spy novel": "spy-thriller", "spy novels": "spy-thriller", "spy stories": "spy-thriller",
    "espionage": "spy-thriller", "greek myths": "greek-mythology", "greek mythology":
    "greek-mythology", "picture book": "childrens-picture-books",
    "picture books": "childrens-picture-books", "manga": "manga", "space opera": "space-opera",
    "cyberpunk": "cyberpunk", "steampunk": "steampunk", "true crime": "true-crime",
    "cosy mystery": "cozy-mystery", "cozy mystery": "cozy-mystery", "cosy mysteries":
    "cozy-mystery", "cozy mysteries": "cozy-mystery", "urban fantasy": "urban-fantasy",
    "epic fantasy": "epic-fantasy", "high fantasy": "high-fantasy", "time travel": "time-travel",
    "post apocalyptic": "post-apocalyptic", "alternate history": "alternate-history",
    "racy": "erotic-romance", "steamy": "erotic-romance", "spicy": "erotic-romance",
    "smutty": "erotic-romance", "raunchy": "erotic-romance", "erotica": "erotic-romance",
    "sexy": "erotic-romance",
}

# Comparatives used by "refine": word -> (facet, direction or value)
REFINE = {
    "shorter": ("length", "short"), "quicker": ("length", "short"),
    "longer": ("length", "long"), "thicker": ("length", "long"),
    "newer": ("era", "+"), "more recent": ("era", "+"), "modern": ("era", "+"),
    "recent": ("era", "+"), "older": ("era", "-"), "more classic": ("era", "-"),
    "funnier": ("mood", "funny"), "lighter": ("mood", "cosy"), "happier": ("mood", "uplifting"),
    "darker": ("mood", "dark"), "scarier": ("mood", "scary"), "creepier": ("mood", "scary"),
    "more exciting": ("mood", "exciting"), "faster": ("mood", "exciting"),
    "deeper": ("mood", "thought-provoking"), "more romantic": ("mood", "romantic"),
    "less dark": ("mood", "-dark"), "not so dark": ("mood", "-dark"),
    "less scary": ("mood", "-scary"), "less romance": ("genre", "-romance"),
    "fiction": ("genre", "-non-fiction"), "a novel": ("genre", "-non-fiction"),
    "too scary": ("mood", "-scary"), "too dark": ("mood", "-dark"), "too violent": ("mood", "-dark"),
    "too sad": ("mood", "-dark"), "too depressing": ("mood", "-dark"), "too heavy": ("mood", "-dark"),
    "too gory": ("mood", "-dark"), "too creepy": ("mood", "-scary"), "too long": ("length", "short"),
    "too short": ("length", "long"), "too old": ("era", "+"), "too romantic": ("mood", "-romantic"),
    "less violent": ("mood", "-dark"), "less gory": ("mood", "-dark"),
    "less gruesome": ("mood", "-dark"), "less intense": ("mood", "-dark"),
    "less depressing": ("mood", "-dark"), "less sad": ("mood", "-dark"),
    "less heavy": ("mood", "-dark"), "lighter in tone": ("mood", "cosy"),
    "tone it down": ("mood", "-dark"), "tone down": ("mood", "-dark"),
    "dial it back": ("mood", "-dark"), "too intense": ("mood", "-dark"),
}


#: everyday English words that must not be read as a surname, a one-word title or a typo
EVERYDAY_WORDS = frozenset("""
good great best book books read reading love loved like dark light funny long short
new old young adult king queen war peace home house life death night day world love story
girl boy man woman children child family friend friends time space magic dragons dragon
vampire vampires witch witches ghost ghosts wizard wizards school water fire earth moon
sun star stars sea ocean city town river mountain island forest garden kids teen teens
something anything nothing please thanks recommend suggest want need looking find give
tell more less like similar same different other another first second third last
cozy cosy mystery mysteries romance horror fantasy science fiction history historical
classic classics poetry poems thriller thrillers crime murder detective spy adventure
travel food cooking art music sport sports business money power politics religion
faith hope heart mind soul body blood bone bones shadow shadows dream dreams secret
secrets lost found home heaven hell angel angels devil evil truth lies storm winter
summer spring autumn fall rain snow wind road journey quest dead alive beautiful wild
brave free little big small green black white red blue gold silver rose roses wonder
room sister brother mother father daughter son wife husband lady lord prince princess
empire kingdom series novel novels author authors write wrote written years year ago
kind sort type about called named titled sad happy scary exciting gripping bleak actually
really properly genuinely""".split())
