"""POST /api/chat, /api/chat/photo, /api/chat/voice: one turn of the conversation."""

from __future__ import annotations

import importlib.util

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from coverstory.serve.cards import reply_dict
from coverstory.serve.errors import ApiError
from coverstory.serve.routes.deps import call, errors, services, settings
from coverstory.serve.retention import chat_retention
from coverstory.serve.schemas import ChatReply, ChatRequest
from coverstory.serve.sessions import resolve_session, set_session_cookie
from coverstory.serve.uploads import (check_image, form_file, form_int, form_text, read_form,
                                      sniff_audio)

router = APIRouter(tags=["chat"], dependencies=[Depends(chat_retention)])

UPLOAD_BODY = {
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "the photo (JPEG, PNG, WebP, GIF or BMP; at most 10 MB)"},
            "text": {"type": "string", "maxLength": 2000,
                     "description": "optional words sent with the photo"},
            "k": {"type": "integer", "minimum": 1, "maximum": 50,
                  "description": "at most this many books in the reply (default: as many "
                                 "as the chat chooses)"},
            "session_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
        }}}}}}
VOICE_BODY = {
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "speech as a WAV file (16-bit PCM; at most 10 MB)"},
            "session_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
        }}}}}}


def _turn(svc, session_id: str, engine=None, **inputs):
    with svc.session_lock(session_id):
        return call((engine or svc.dialogue).turn, session_id, **inputs)


def _photo_turn(svc, cfg, session_id: str, data: bytes, text: str | None, engine=None):
    """Under a photo slot: the upload is decoded (small), re-encoded and analysed."""
    photo = check_image(data, max_bytes=cfg.max_upload_bytes, max_pixels=cfg.max_image_pixels,
                        max_side=cfg.photo_max_side).jpeg_bytes()
    reply = _turn(svc, session_id, engine, text=text, photo=photo)
    return reply_dict(reply, session_id, svc.catalog)


def _answer(svc, session_id: str, **inputs) -> dict:
    return reply_dict(_turn(svc, session_id, **inputs), session_id, svc.catalog)


@router.post("/api/chat", response_model=ChatReply, responses=errors(400, 503),
             summary="Send a message; get the reply, books and the next question")
async def chat(body: ChatRequest, request: Request, response: Response,
               svc=Depends(services), cfg=Depends(settings)) -> dict:
    sid, _ = resolve_session(request, body.session_id, cfg)
    text = body.text.strip()
    if not text:
        raise ApiError(422, "invalid request: text: must not be blank")
    out = await svc.cpu.run(_answer, svc, sid, text=text)    # in arrival order (lanes.py)
    set_session_cookie(request, response, sid, cfg)
    return out


@router.post("/api/chat/photo", response_model=ChatReply, openapi_extra=UPLOAD_BODY,
             responses=errors(400, 413, 415, 503),
             summary="Show a book cover photo; get the book and books like it")
async def chat_photo(request: Request, response: Response, svc=Depends(services),
                     cfg=Depends(settings)) -> dict:
    form = await read_form(request)
    data = await form_file(form)
    text = form_text(form, "text", max_chars=cfg.max_text_chars)
    k = form_int(form, "k", cfg.max_k, 1, cfg.max_k)     # checked before any work
    sid, _ = resolve_session(request, form_text(form, "session_id", max_chars=64), cfg)
    engine = await run_in_threadpool(svc.photo_dialogue)   # 503 while photo search loads
    # on the photo lane: a burst of photos waits for its own threads, not the chat's
    out = await svc.photos.run(svc.photo_work, _photo_turn, svc, cfg, sid, data, text, engine)
    set_session_cookie(request, response, sid, cfg)
    out["books"] = out["books"][:k]
    return out


def voice_available() -> bool:
    return importlib.util.find_spec("pocketsphinx") is not None


@router.post("/api/chat/voice", response_model=ChatReply, openapi_extra=VOICE_BODY,
             responses=errors(400, 413, 415, 501, 503),
             summary="Speak a request (needs the voice extra)")
async def chat_voice(request: Request, response: Response, svc=Depends(services),
                     cfg=Depends(settings)) -> dict:
    if not voice_available():
        raise ApiError(501, "voice input is not installed on this server: "
                            "pip install 'coverstory[voice]' and restart it")
    form = await read_form(request)
    data = await form_file(form)
    sid, _ = resolve_session(request, form_text(form, "session_id", max_chars=64), cfg)
    if not data:
        raise ApiError(400, "the uploaded audio is empty; record a few seconds of speech")
    if len(data) > cfg.max_upload_bytes:
        raise ApiError(413, f"audio too large; the limit is {cfg.max_upload_bytes // 2**20} MB")
    kind = sniff_audio(data)
    if kind != "wav":
        raise ApiError(415, f"send speech as a WAV file (16-bit PCM), not "
                            f"{kind or 'this format'}")
    out = await svc.cpu.run(_answer, svc, sid, audio=data)
    set_session_cookie(request, response, sid, cfg)
    return out
