"""The intent training set: utterances generated from templates, plus hand-written ones.

``python -m coverstory.dialogue.utterances`` regenerates data/utterances_generated.jsonl
(fixed seed); data/utterances_handwritten.jsonl was written and checked by hand and
data/intents_test.jsonl is a hand-written held-out set the classifier never trains on.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

DATA = Path(__file__).parent / "data"
INTENTS = ("recommend", "describe", "identify_photo", "similar_to", "refine", "feedback",
           "ask_about", "greeting", "help", "reset", "dont_care")

# Fillers: real, well-known books and authors (generation only; matching uses the catalog).
TITLES = ["The Martian", "Harry Potter", "The Hunger Games", "Gone Girl", "Dune", "The Hobbit",
          "Pride and Prejudice", "The Da Vinci Code", "1984", "The Road", "Twilight",
          "The Girl with the Dragon Tattoo", "Little Women", "The Name of the Wind",
          "Ready Player One", "The Night Circus", "Rebecca", "The Secret History", "Educated",
          "Sapiens", "The Kite Runner", "Station Eleven", "The Alchemist", "Outlander",
          "A Game of Thrones", "The Fault in Our Stars", "Jurassic Park", "The Shining",
          "Where the Crawdads Sing", "Anne of Green Gables", "Matilda", "Good Omens",
          "The Handmaid's Tale", "Ender's Game", "Project Hail Mary", "Circe", "Wonder"]
AUTHORS = ["Stephen King", "Agatha Christie", "Jane Austen", "Terry Pratchett", "Neil Gaiman",
           "J.K. Rowling", "Brandon Sanderson", "Margaret Atwood", "Haruki Murakami",
           "John Grisham", "Nora Roberts", "Ursula K. Le Guin", "Kazuo Ishiguro", "Dan Brown",
           "Rick Riordan", "Roald Dahl", "Tolkien", "Sarah J. Maas", "Colleen Hoover",
           "Isaac Asimov", "Toni Morrison", "Gillian Flynn", "Andy Weir", "Liane Moriarty"]
GENRES = ["fantasy", "sci-fi", "science fiction", "mystery", "thriller", "romance", "horror",
          "historical fiction", "classic", "non-fiction", "biography", "memoir", "poetry",
          "graphic novel", "manga", "crime", "dystopian", "history", "philosophy", "ya",
          "young adult", "cozy mystery", "detective", "self-help", "short stories"]
MOODS = ["funny", "dark", "cozy", "uplifting", "scary", "thought-provoking", "exciting",
         "romantic", "light", "gripping", "sad", "heartwarming", "creepy", "fast-paced"]
THEMES = ["dragons", "vampires", "witches", "space", "war", "magic", "time travel", "ghosts",
          "a heist", "pirates", "a boarding school", "robots", "a small town", "Venice",
          "world war two", "mythology", "a road trip", "aliens", "a murder on a train",
          "a haunted house", "artificial intelligence", "a family secret", "the ocean"]
AUDIENCES = ["for kids", "for my 10 year old", "for a teenager", "for adults", "for my son",
             "for my daughter", "for teens", "for a child", "for a grown-up"]
ERAS = ["from the 80s", "published recently", "from the 19th century", "from the 2000s",
        "something new", "an old classic", "from the 1950s", "written after 2010"]
LENGTHS = ["short", "quick", "long", "epic", "under 200 pages", "not too long"]
REFS = ["the first one", "the second one", "the third one", "that one", "the last one",
        "it", "this one", "number two", "the first", "the second book"]

TEMPLATES: dict[str, list[str]] = {
    "recommend": [
        "recommend me a {genre} book", "can you suggest a {mood} {genre} novel",
        "I want something {mood}", "any good {genre} books?", "what should I read next",
        "I need a book {audience}", "looking for a {genre} novel {era}",
        "give me a {mood} read", "I'd like a {length} {genre} book", "something about {theme}",
        "suggest a book about {theme}", "I feel like reading {genre}", "a {genre} with {theme}",
        "any books by {author}?", "something by {author} please", "what's a good {genre} {audience}",
        "I want a {mood} book with {theme} but no {genre}", "recommend something {era}",
        "find me a {genre} book, nothing too {mood}", "what do you recommend for tonight",
        "I'm bored, give me something to read", "a {length} read {audience}",
        "I'd love a {genre} story set in {theme}", "I'm in the mood for {genre}",
        "could you recommend {genre} but not {genre}", "show me some {genre} titles",
        "best {genre} books {era}", "I need a gift {audience}, maybe {genre}",
        "what are some {mood} books", "recommend a book", "I want to read something",
        "help me pick a {genre} book", "got any {mood} {genre} for me?",
        "i'd like a book with {theme}", "no {genre} please, something {mood}",
    ],
    "describe": [
        "the one about {theme}", "there's a book where {plot}", "I'm looking for a book where {plot}",
        "what's the book about {plot}", "I forgot the title, it's about {plot}",
        "which book has {plot}", "a novel in which {plot}", "the book where {plot}, what is it called",
        "I read a book years ago about {plot}", "it was about {plot}, do you know it",
        "the story of {plot}", "I remember a book with {plot}", "book where {plot}",
        "can't remember the name, {plot}", "what is that novel where {plot}",
    ],
    "identify_photo": [
        "what book is this", "what's this book", "can you identify this cover",
        "do you know this book?", "I took a photo of this cover, what is it",
        "is this in your catalog", "here's a picture of a book", "what is this cover",
        "identify this book please", "tell me what book this is", "recognise this cover?",
        "I saw this in a shop, what is it", "here is a photo", "which book is on this picture",
    ],
    "similar_to": [
        "something like {title}", "books similar to {title}", "I loved {title}, what else would I like",
        "more like {title} but {mood}", "like {title} but {length}", "anything similar to {title}?",
        "if I liked {title} what should I read", "recommend books like {title}",
        "I want another book like {title}", "{title} but {mood}", "similar to {title} please",
        "more like {ref}", "more like that", "give me more like {ref}", "something in the vein of {title}",
        "books that read like {title}", "what's similar to {author}'s {title}",
        "like {title} but {era}", "more books like {ref} please",
    ],
    "refine": [
        "{length_cmp}", "something {length_cmp}", "a bit {mood_cmp}", "not so {mood}",
        "something {era_cmp}", "can you make it {mood_cmp}", "less {mood}", "more {mood}",
        "no {genre}", "without {theme}", "not {genre} please", "nothing too {mood}",
        "I'd prefer {mood_cmp}", "make it {era_cmp}", "only {genre}", "not by {author}",
        "maybe something {mood_cmp}", "something {mood_cmp} and {length_cmp}",
        "actually I'd prefer {genre}", "less {genre} more {genre}", "a {length_cmp} one",
        "no more {theme}", "skip the {genre}", "too {mood}, something {mood_cmp}",
        "{audience} instead", "{era} instead", "not for kids",
    ],
    "feedback": [
        "I liked {ref}", "I loved {ref}", "{ref} sounds great", "I didn't like {ref}",
        "I hated {ref}", "I've already read {ref}", "already read that", "read it already",
        "{ref} looks boring", "not {ref}, I didn't enjoy it", "yes, {ref}!", "perfect, I'll take {ref}",
        "that's the one", "I read {ref} last year", "{ref} is not for me", "love it",
        "I've read {ref} and loved it", "great, {ref} looks perfect", "meh, {ref} is dull",
        "no, I already know {ref}", "I finished {ref}, it was great", "thumbs up for {ref}",
        "thumbs down", "not interested in {ref}", "{ref} was awful", "I enjoyed {title} a lot",
        "I didn't like {title}", "I've read {title} already", "that one is perfect",
        "yes that's it", "I'll read {ref}",
    ],
    "ask_about": [
        "who wrote {ref}", "who wrote {title}", "when was {title} published", "what is {ref} about",
        "what's {title} about", "tell me more about {ref}", "who is the author of {title}",
        "what year did {ref} come out", "how good is {title}", "is {ref} part of a series",
        "what genre is {title}", "tell me about {title}", "how long is {ref}", "what's the plot of {ref}",
        "more details about {ref} please", "what's the rating of {title}", "when was {ref} written",
        "who's the author", "what is it about", "is {title} any good",
    ],
    "greeting": [
        "hi", "hello", "hey there", "good morning", "hi!", "hello bot", "hey", "good evening",
        "howdy", "hi, how are you", "hiya", "greetings", "yo", "hello there", "good afternoon",
        "hey coverstory", "morning!", "hi there, nice to meet you",
    ],
    "help": [
        "help", "what can you do", "how does this work", "what can I ask you", "help me",
        "how do I use this", "what are you", "what kind of questions can you answer",
        "instructions please", "I'm lost", "what commands are there", "can you explain how to use you",
        "what do you know", "how can you help me", "?", "options", "what should I type",
    ],
    "reset": [
        "start over", "reset", "let's start again", "forget everything", "new search",
        "clear my preferences", "begin again", "restart", "forget what I said", "start fresh",
        "never mind, new request", "let's try something completely different", "wipe that",
        "scratch that, start from scratch", "reset the conversation",
    ],
    "dont_care": [
        "I don't mind", "no preference", "anything", "whatever", "I don't know", "doesn't matter",
        "any is fine", "not sure", "surprise me", "no idea", "either", "you choose",
        "up to you", "all good", "any of them", "I don't care", "no strong preference", "hmm not sure",
    ],
}

PLOTS = ["a boy wizard goes to a boarding school", "a girl volunteers to fight in televised games",
         "an astronaut is stranded on mars", "a vampire falls in love with a schoolgirl",
         "a hobbit goes on a quest to destroy a ring", "a whale hunt at sea",
         "a detective investigates a murder on a train", "a robot learns to feel",
         "two families feud in verona", "children find a wardrobe that leads to another world",
         "a man wakes up as a giant insect", "a dog narrates its owner's life",
         "a girl grows up alone in a marsh", "a time traveller marries a librarian",
         "a plague hits a small town", "a boy survives on a lifeboat with a tiger",
         "a professor tracks a secret society through paris", "a family moves into a haunted hotel",
         "twins separated at birth meet again", "a chef opens a restaurant in paris"]
CMP = {"length_cmp": ["shorter", "longer", "quicker"],
       "mood_cmp": ["funnier", "lighter", "darker", "scarier", "happier", "more exciting"],
       "era_cmp": ["newer", "older", "more recent", "more modern"]}


def generate(seed: int = 0, per_template: int = 6) -> list[dict]:
    """Fill every template a few times with random fillers; deduplicated, shuffled."""
    rng = random.Random(seed)
    fill = {"genre": GENRES, "mood": MOODS, "theme": THEMES, "audience": AUDIENCES, "era": ERAS,
            "length": LENGTHS, "title": TITLES, "author": AUTHORS, "ref": REFS, "plot": PLOTS,
            **CMP}
    out, seen = [], set()
    for intent, templates in TEMPLATES.items():
        for t in templates:
            for _ in range(per_template if "{" in t else 1):
                text = t
                while "{" in text:
                    a = text.index("{")
                    b = text.index("}", a)
                    text = text[:a] + rng.choice(fill[text[a + 1:b]]) + text[b + 1:]
                for variant in (text, _casing(rng, text)):
                    if variant not in seen:
                        seen.add(variant)
                        out.append({"text": variant, "intent": intent})
    rng.shuffle(out)
    return out


def _casing(rng: random.Random, text: str) -> str:
    r = rng.random()
    if r < 0.3:
        return text.capitalize() + rng.choice(["", ".", "!", "?"])
    if r < 0.45:
        return rng.choice(["please ", "hey, ", "ok ", "so ", "um "]) + text
    return text


def load(name: str) -> list[dict]:
    path = DATA / name
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def training_set() -> list[dict]:
    return load("utterances_generated.jsonl") + load("utterances_handwritten.jsonl")


if __name__ == "__main__":
    rows = generate()
    DATA.mkdir(exist_ok=True)
    with open(DATA / "utterances_generated.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print(len(rows), "utterances")
