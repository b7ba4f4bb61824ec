"""GET /api/search?q=, POST /api/search/photo."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from coverstory.serve.cards import cards
from coverstory.serve.errors import ApiError
from coverstory.serve.routes.deps import call, errors, services, settings
from coverstory.serve.schemas import NOT_BLANK, PhotoSearchResponse, SearchResponse
from coverstory.serve.uploads import check_image, form_bool, form_file, form_int, read_form

router = APIRouter(tags=["search"])

PHOTO_BODY = {
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "a photo of a book cover (JPEG, PNG, WebP, GIF or BMP; "
                                    "at most 10 MB)"},
            "k": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
            "ocr": {"type": "boolean", "default": False,
                    "description": "also read the cover's text when the image match is "
                                   "ambiguous (slower; its words feed the suggestions)"},
        }}}}}}


@router.get("/api/search", response_model=SearchResponse, responses=errors(400, 503),
            summary="Find books by words (title, author, topic, mood)")
async def search(q: str = Query(min_length=1, max_length=2000, pattern=NOT_BLANK,
                                description="what to look for"),
                 k: int = Query(10, ge=1, le=50), svc=Depends(services)) -> dict:
    query = q.strip()
    if not query:
        raise ApiError(422, "invalid request: q: must not be blank")
    return await svc.cpu.run(_text_search, svc, query, k)    # in arrival order (lanes.py)


def _text_search(svc, query: str, k: int) -> dict:
    hits = call(svc.text_search().text, query, k=k)   # words only while search loads
    books = cards(svc.catalog, hits)
    editions = {int(h.book_id): list(h.details.get("editions", ()))
                for h in hits if isinstance(getattr(h, "details", None), dict)}
    for card in books:              # the other catalog records of the same work
        card["editions"] = editions.get(card["id"], [])
    return {"query": query, "books": books}


@router.post("/api/search/photo", response_model=PhotoSearchResponse, openapi_extra=PHOTO_BODY,
             responses=errors(400, 413, 415, 503),
             summary="Which book is on this cover photo, and which are like it")
async def search_photo(request: Request, svc=Depends(services), cfg=Depends(settings)) -> dict:
    form = await read_form(request)
    data = await form_file(form)
    k = form_int(form, "k", 10, 1, cfg.max_k)
    extra = {"use_ocr": True} if form_bool(form, "ocr") else {}
    search = await run_in_threadpool(svc.photo_search)     # 503 while photo search loads
    # on the photo lane: a burst of photos waits for its own threads, not the chat's
    return await svc.photos.run(svc.photo_work, _decode_and_search, svc, search, cfg, data,
                                k, extra)


def _decode_and_search(svc, search, cfg, data: bytes, k: int, extra: dict) -> dict:
    """Under a photo slot: decoding a big photo is as heavy as searching it."""
    checked = check_image(data, max_bytes=cfg.max_upload_bytes, max_pixels=cfg.max_image_pixels,
                          max_side=cfg.photo_max_side)
    return _photo_dict(svc.catalog, call(search.photo, checked.image, k=k, **extra))


def _photo_dict(catalog, result) -> dict:
    best = getattr(result, "best", None)
    best_card = cards(catalog, [best]) if best is not None else []
    return {"in_catalog": bool(getattr(result, "in_catalog", False)),
            "best": best_card[0] if best_card else None,
            "books": cards(catalog, getattr(result, "hits", [])),
            "suggestions": cards(catalog, getattr(result, "suggestions", []) or [])}
