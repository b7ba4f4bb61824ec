"""GET /api/books/{id}, /similar, /cover."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Path as PathParam, Query, Request
from fastapi.responses import FileResponse, Response

from coverstory.serve.cards import book_detail, cards
from coverstory.serve.errors import ApiError
from coverstory.serve.routes.deps import call, errors, require_book, services
from coverstory.serve.schemas import MAX_ID, BookDetail, SimilarResponse
from coverstory.serve.uploads import IMAGE_FORMATS, sniff_image

router = APIRouter(tags=["books"])
BookId = PathParam(ge=1, le=MAX_ID, description="catalog book id")


@router.get("/api/books/{book_id}", response_model=BookDetail, responses=errors(404))
def book(book_id: int = BookId, svc=Depends(services)) -> dict:
    d = book_detail(svc.catalog, book_id)
    if d is None:
        raise ApiError(404, f"no book with id {book_id}; find ids with GET /api/search?q=")
    return d


@router.get("/api/books/{book_id}/similar", response_model=SimilarResponse,
            responses=errors(404, 503),
            summary="Books like this one: by content (cover + text) or by readers")
def similar(book_id: int = BookId, k: int = Query(10, ge=1, le=50),
            by: Literal["content", "readers"] = Query(
                "content", description="content: cover and text; readers: what its readers "
                                       "also liked"),
            svc=Depends(services)) -> dict:
    require_book(svc.catalog, book_id)
    if by == "content":
        hits = call(svc.search.similar, book_id, k=k)
    else:
        hits = call(svc.recommend.similar_items, book_id, k=k)
    hits = [h for h in hits if int(h.book_id) != book_id]
    return {"book_id": book_id, "by": by, "books": cards(svc.catalog, hits)}


@router.get("/api/books/{book_id}/cover", responses={
    200: {"content": {t: {} for t in IMAGE_FORMATS.values()}, "description": "the cover image"},
    **errors(404)}, response_class=Response, summary="The cover image of a book")
def cover(request: Request, book_id: int = BookId, svc=Depends(services)):
    row = svc.catalog.cover(book_id)
    if row is None:
        raise ApiError(404, f"no book with id {book_id}; find ids with GET /api/search?q=")
    path = Path(row[0]) if row[0] else None
    if path is None or not path.is_file():
        raise ApiError(404, f"book {book_id} has no cover image")
    etag = f'"{row[1]}"' if row[1] else None
    headers = {"Cache-Control": "public, max-age=86400"}
    if etag:
        headers["ETag"] = etag
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
    with open(path, "rb") as f:
        fmt = sniff_image(f.read(16))
    if fmt not in IMAGE_FORMATS:
        raise ApiError(404, f"book {book_id}'s cover file is not a readable image")
    return FileResponse(path, media_type=IMAGE_FORMATS[fmt], headers=headers)
