"""Optional: rephrase template replies through an OpenAI-compatible chat endpoint.

Off unless the operator sets COVERSTORY_LLM_URL (and COVERSTORY_LLM_MODEL). The bot never
depends on it: any error, timeout or empty answer keeps the template text. The books, their
order and their reasons are never changed by the model — only the wording of the text.
"""

from __future__ import annotations

import logging

from coverstory.config import setting

log = logging.getLogger(__name__)

SYSTEM = ("You are coverstory, a friendly book recommendation assistant. Rephrase the "
          "assistant message you are given so it sounds natural and warm. Keep every book "
          "title, author and question exactly; do not add books or facts. One short paragraph.")


class ChatAdapter:
    """POST {url}/chat/completions with {"model", "messages"}; returns the rephrased text."""

    def __init__(self, url: str, model: str = "", timeout: float = 5.0, api_key: str = ""):
        if not url:
            raise ValueError("ChatAdapter needs a URL (set COVERSTORY_LLM_URL)")
        url = url.rstrip("/")
        self.url = url if url.endswith("/chat/completions") else url + "/chat/completions"
        self.model = model or "default"
        self.timeout = timeout
        self.api_key = api_key

    @classmethod
    def from_settings(cls) -> "ChatAdapter | None":
        url = setting("llm_url")
        return cls(url, setting("llm_model")) if url else None

    def rephrase(self, text: str, user_text: str | None = None) -> str:
        import httpx

        messages = [{"role": "system", "content": SYSTEM}]
        if user_text:
            messages.append({"role": "user", "content": user_text})
        messages.append({"role": "user", "content": f"Assistant message to rephrase:\n{text}"})
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            r = httpx.post(self.url, json={"model": self.model, "messages": messages,
                                           "temperature": 0.3},
                           headers=headers, timeout=self.timeout)
            r.raise_for_status()
            out = r.json()["choices"][0]["message"]["content"].strip()
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as e:
            log.warning("chat endpoint %s failed (%s); using the template reply", self.url, e)
            return text
        return out or text
