"""GET /api/users/{id|me}/recommendations, POST /api/feedback; a reader's own data:
GET /api/users/me/data, DELETE /api/users/me."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path as PathParam, Query, Request, Response

from coverstory.serve.cards import cards, reply_dict
from coverstory.serve.errors import ApiError
from coverstory.serve.routes.deps import (admin_token_ok, call, errors, require_admin,
                                          require_book, services, settings)
from coverstory.serve.retention import chat_retention
from coverstory.serve.schemas import (MAX_ID, Erasure, FeedbackRequest, FeedbackResponse,
                                      ReaderData, RecommendationsResponse)
from coverstory.serve.sessions import resolve_session, session_user, set_session_cookie

router = APIRouter(tags=["readers"], dependencies=[Depends(chat_retention)])


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
    if not svc.catalog.has_user(user_id):
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
        if not catalog.has_user(body.user_id):
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


# ---- a reader's own data -------------------------------------------------------------------
@router.get("/api/users/me/data", response_model=ReaderData, responses=errors(503),
            summary="Everything coverstory keeps about this browser's reader (cookie)")
def my_data(request: Request, session_id: str | None = Query(
                None, pattern=r"^[A-Za-z0-9_-]{8,64}$",
                description="a chat session instead of the cs_session cookie"),
            svc=Depends(services), cfg=Depends(settings)) -> dict:
    from coverstory.catalog.privacy import reader_data

    sid = session_id or request.cookies.get(cfg.cookie_name)
    if not sid:
        return reader_data(svc.catalog, None)
    sid, _ = resolve_session(request, sid, cfg)
    uid = svc.catalog.user_id(f"session:{sid}")
    return reader_data(svc.catalog, uid, session_ids=[sid])


@router.delete("/api/users/me", response_model=Erasure, responses=errors(503),
               summary="Erase this browser's reader: ratings, likes, chat turns, profile")
def forget_me(request: Request, response: Response, session_id: str | None = Query(
                  None, pattern=r"^[A-Za-z0-9_-]{8,64}$",
                  description="a chat session instead of the cs_session cookie"),
              svc=Depends(services), cfg=Depends(settings)) -> dict:
    sid = session_id or request.cookies.get(cfg.cookie_name)
    response.delete_cookie(cfg.cookie_name, path="/")
    if not sid:
        return {"erased": False, "user_id": None, "deleted": {}, "rebuild": None}
    sid, _ = resolve_session(request, sid, cfg)
    with svc.session_lock(sid):
        uid = svc.catalog.user_id(f"session:{sid}")
        return erase(request, svc, uid, session_ids=[sid])


def erase(request: Request, svc, user_id: int | None, session_ids=()) -> dict:
    """Delete a reader's rows; when a saved recommender may hold their ratings, start its
    rebuild (a job), after which no saved model holds anything of them."""
    from coverstory.catalog.privacy import forget_reader

    if user_id is None:
        counts = {}
        if session_ids:   # a session without a user row (cannot normally happen): its chats
            counts = forget_reader(svc.catalog, -1, session_ids=session_ids)
        return {"erased": bool(sum(counts.values())), "user_id": None, "deleted": counts,
                "rebuild": None}
    counts = forget_reader(svc.catalog, user_id, session_ids=session_ids)
    jobs = request.app.state.jobs
    rebuild = None
    if counts["ratings"] and jobs.rebuild_recommender and jobs.has_recommender():
        job = jobs.request_rebuild(f"erasure of a reader's data ({counts['ratings']} ratings)")
        rebuild = (f"job {job['id']} rebuilds the recommender" if job else
                   "the recommender is rebuilt when the running job ends")
    return {"erased": True, "user_id": user_id, "deleted": counts, "rebuild": rebuild}
