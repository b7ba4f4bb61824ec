"""Request and response bodies of the HTTP API (they make the OpenAPI schema at /docs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

SESSION_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
NOT_BLANK = r"\S"  # at least one character that is not white space
MAX_ID = 2**62  # SQLite integers are 64-bit; larger ids cannot exist
FeedbackKind = Literal["like", "dislike", "read"]


class ErrorBody(BaseModel):
    """Every error: its HTTP status and a message that says what to fix."""

    status: int = Field(examples=[422])
    error: str = Field(examples=["invalid request: text: is required"])


class BookCard(BaseModel):
    """A book as shown on a card: cover URL (or null), score and the reason it was chosen."""

    id: int
    title: str
    authors: list[str] = []
    year: int | None = None
    cover_url: str | None = None
    score: float | None = None
    reason: str = ""


class ChatRequest(BaseModel):
    text: str = Field(min_length=1, max_length=2000, pattern=NOT_BLANK,
                      examples=["a cosy mystery set in Venice"])
    session_id: str | None = Field(
        None, pattern=SESSION_PATTERN,
        description="chat session; defaults to the cs_session cookie, or a new session")


class ChatReply(BaseModel):
    session_id: str
    text: str
    intent: str | None = None
    question: str | None = None
    books: list[BookCard] = []


class SearchCard(BookCard):
    """A text-search result: a book card and the other records of the same work."""

    editions: list[int] = Field(
        [], description="ids of the catalog's other records of this work (other editions, "
                        "the same book from another source), left out of the list")


class SearchResponse(BaseModel):
    query: str
    books: list[SearchCard]


class PhotoSearchResponse(BaseModel):
    in_catalog: bool = Field(description="the photo shows a book of this catalog")
    best: BookCard | None = Field(None, description="the book on the photo, when in the catalog")
    books: list[BookCard] = Field(description="nearest catalog books to the photo, best first")
    suggestions: list[BookCard] = Field(
        [], description="similar books to offer when the photographed book is not in the catalog")


class BookDetail(BaseModel):
    id: int
    title: str
    authors: list[str] = []
    year: int | None = None
    isbn13: str | None = None
    language: str | None = None
    description: str | None = None
    cover_url: str | None = None
    tags: list[str] = []
    categories: list[str] = []
    sources: list[str] = []
    average_rating: float | None = None
    ratings_count: int | None = None


class SimilarResponse(BaseModel):
    book_id: int
    by: Literal["content", "readers"]
    books: list[BookCard]


class RecommendationsResponse(BaseModel):
    user_id: int
    books: list[BookCard]


class FeedbackRequest(BaseModel):
    # strict: true is not book 1, "2" and 2.0 are not ids, NaN and Infinity are no rating
    book_id: int = Field(ge=1, le=MAX_ID, strict=True)
    kind: FeedbackKind
    rating: float | None = Field(None, ge=1, le=5, strict=True, allow_inf_nan=False,
                                 description="optional 1-5 stars")
    session_id: str | None = Field(
        None, pattern=SESSION_PATTERN, description="defaults to the cs_session cookie")
    user_id: int | None = Field(
        None, ge=1, le=MAX_ID, strict=True,
        description="a known catalog user instead of the session's reader (admin token needed)")
    reply: bool = Field(True, strict=True, description=(
        "false: only save the feedback (no chat answer is computed; about 20x more writes "
        "per second)"))


class FeedbackResponse(BaseModel):
    ok: bool = True
    user_id: int
    book_id: int
    kind: FeedbackKind
    reply: ChatReply | None = Field(None, description="the chat's answer, for session feedback")


class ReaderData(BaseModel):
    """Everything coverstory keeps about one reader."""

    user: dict | None = Field(description="id, external_id, name, created_at; null when "
                                          "nothing is kept about this reader")
    ratings: list[dict] = Field(description="book_id, title, rating, source, shelf, created_at")
    events: list[dict] = Field(description="feedback, chat turns and accepted suggestions: "
                                           "id, ts, kind, book_id, session_id, payload")
    profiles: list[dict] = Field(description="the reader's profile vector per recommender")
    sessions: list[dict] = Field(description="chat sessions: id, policy, created_at, "
                                             "updated_at, state (what was asked, books shown)")
    chat_retention_days: float = Field(description="chat turns and sessions older than this "
                                                   "are deleted (0: kept)")


class Erasure(BaseModel):
    erased: bool = Field(description="false when nothing was kept about this reader")
    user_id: int | None = None
    deleted: dict[str, int] = Field(description="rows deleted per table")
    rebuild: str | None = Field(None, description="the recommender rebuild that removes the "
                                                  "reader's ratings from the saved model")


class Health(BaseModel):
    status: Literal["loading", "ready"] = Field(
        description="loading: models are still being loaded or the background build is "
                    "running (the chat answers meanwhile, from what is ready); ready: "
                    "everything the data home holds is loaded")
    version: str
    books: int
    loaded: dict[str, bool]
    parts: dict[str, dict] | None = Field(
        None, description="warm start: each part (chat, search, recommend, dialogue, photo) "
                          "with its state (waiting, loading, ready, missing, failed), "
                          "seconds and a note")
    build: dict | None = Field(
        None, description="the background build (`coverstory serve --build`): state, seconds "
                          "and its steps with state, seconds and progress (done, total, "
                          "percent) of the running ones")
    message: str | None = Field(None, description="what is still being prepared, in words")


class CommandRequest(BaseModel):
    args: list[str] = Field(
        [], max_length=50,
        description="arguments of the CLI command, e.g. [\"goodbooks\"] for `coverstory import "
                    "goodbooks` (--home is always the server's home)")


class RebuildRequest(BaseModel):
    target: Literal["features", "ocr", "fusion", "index", "recommender", "intents", "all"]
    args: list[str] = Field([], max_length=50, description="extra `coverstory build` arguments")


class Job(BaseModel):
    id: str
    command: list[str]
    state: Literal["queued", "running", "done", "failed"]
    created: float
    finished: float | None = None
    result: str | None = None
    error: str | None = None
    reason: str | None = Field(
        None, description="why the server started this job itself (a recommender rebuild "
                          "after an import into a home without one, or after an erasure)")


class Stats(BaseModel):
    catalog: dict
    server: dict
    loaded: dict[str, bool]
    jobs: list[Job]
