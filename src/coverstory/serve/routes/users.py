"""GET /api/users/{id|me}/recommendations, POST /api/feedback."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path as PathParam, Query, Request, Response

from coverstory.serve.cards import cards, reply_dict
from coverstory.serve.errors import ApiError
from coverstory.serve.routes.deps import (admin_token_ok, call, errors, require_admin,
                                          require_book, services, settings)
from coverstory.serve.schemas import (MAX_ID, FeedbackRequest, FeedbackResponse,
                                      RecommendationsResponse)
from coverstory.serve.sessions import resolve_session, session_user, set_session_cookie

router = APIRouter(tags=["readers"])


def _recommend(svc, user_id: int, k: int) -> dict:
    hits = call(svc.recommend.recommend, user_id, k=k)
    return {"user_id": user_id, "books": cards(svc.catalog, hits)}


@router.get("/api/users/me/recommendations", response_model=RecommendationsResponse,
            responses=errors(503), summary="Recommendations for this browser's reader (cookie)")
def my_recommendations(request: Request, response: Response, k: int = Query(10, ge=1, le=50),
                       svc=Depends(services), cfg=Depends(settings)) -> dict:
    sid, _ = resolve_session(request, None, cfg)
    with svc.session_lock(sid):
        uid = session_user(svc.catalog, sid)
    set_session_cookie(request, response, sid, cfg)
    return _recommend(svc, uid, k)


@router.get("/api/users/{user_id}/recommendations", response_model=RecommendationsResponse,
            responses=errors(401, 403, 404, 503),
            summary="Recommendations for a known catalog user (admin token needed)")
def user_recommendations(request: Request, user_id: int = PathParam(ge=1, le=MAX_ID),
                         k: int = Query(10, ge=1, le=50), svc=Depends(services)) -> dict:
    require_admin(request)
    if svc.catalog.conn.execute("SELECT 1 FROM users WHERE id=?", (user_id,)).fetchone() is None:
        raise ApiError(404, f"no user with id {user_id}")
    return _recommend(svc, user_id, k)


@router.post("/api/feedback", response_model=FeedbackResponse, responses=errors(401, 403, 404, 503),
             summary="A reader liked, disliked or has already read a book (saved at once)")
def feedback(body: FeedbackRequest, request: Request, response: Response,
             svc=Depends(services), cfg=Depends(settings)) -> dict:
    catalog = svc.catalog
    require_book(catalog, body.book_id)
    if body.user_id is not None:
        if not admin_token_ok(request):
            require_admin(request)  # raises 401/403 with the reason
        if catalog.conn.execute("SELECT 1 FROM users WHERE id=?",
                                (body.user_id,)).fetchone() is None:
            raise ApiError(404, f"no user with id {body.user_id}")
        call(svc.recommend.feedback, body.user_id, body.book_id, body.kind, rating=body.rating)
        return {"ok": True, "user_id": body.user_id, "book_id": body.book_id, "kind": body.kind,
                "reply": None}
    sid, _ = resolve_session(request, body.session_id, cfg)
    with svc.session_lock(sid):
        uid = session_user(catalog, sid)
        if body.reply:
            # the dialogue engine saves the feedback (rating + event) and answers with more
            # books (that answer is most of a feedback's cost)
            reply = call(svc.dialogue.feedback, sid, body.book_id, body.kind)
        else:
            reply = None
            save_feedback(catalog, uid, sid, body.book_id, body.kind)
        if body.rating is not None:  # explicit stars replace the ones implied by the kind
            catalog.set_rating(uid, body.book_id, float(body.rating), source="app")
    set_session_cookie(request, response, sid, cfg)
    return {"ok": True, "user_id": uid, "book_id": body.book_id, "kind": body.kind,
            "reply": reply_dict(reply, sid, catalog) if reply is not None else None}


def save_feedback(catalog, user_id: int, session_id: str, book_id: int, kind: str) -> None:
    """Feedback without a chat answer: the rating the kind implies and the event, as the
    dialogue engine saves them (the reader's profile follows from the rating)."""
    from coverstory.recommend.service import FEEDBACK_RATINGS

    catalog.set_rating(user_id, book_id, FEEDBACK_RATINGS[kind], source="feedback", shelf=kind)
    catalog.log_event(kind, user_id=user_id, session_id=session_id, book_id=book_id,
                      payload={"via": "api", "reply": False})
