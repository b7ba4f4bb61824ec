// coverstory web chat: plain JS, no build step. Talks to the same HTTP API as everyone.
"use strict";
(function () {
  const log = document.getElementById("log");
  const typing = document.getElementById("typing");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const photo = document.getElementById("photo");
  const send = document.getElementById("send");
  let busy = false;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function addMessage(who, text, extra) {
    const m = el("div", "msg " + who);
    const b = el("div", "bubble");
    if (text) b.appendChild(document.createTextNode(text));
    if (extra) b.appendChild(extra);
    m.appendChild(b);
    log.appendChild(m);
    scrollDown();
    return m;
  }

  function setTyping(on) {
    typing.hidden = !on;
    if (on) log.appendChild(typing); // keep it as the last message
    send.disabled = on;
    busy = on;
    scrollDown();
  }

  async function api(path, options) {
    const res = await fetch(path, Object.assign({ credentials: "same-origin" }, options));
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      const msg = body && body.error ? body.error : "the server answered " + res.status;
      throw new Error(msg);
    }
    return body;
  }

  const THUMB = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";
  const SVG_NS = "http://www.w3.org/2000/svg";

  function thumbIcon(down) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", THUMB);
    if (down) path.setAttribute("transform", "rotate(180 12 12)");
    svg.appendChild(path);
    return svg;
  }

  function bookCard(book) {
    const card = el("article", "card");
    card.dataset.bookId = book.id;
    if (book.cover_url) {
      const img = el("img", "cover");
      img.src = book.cover_url;
      img.alt = "Cover of " + book.title;
      img.loading = "lazy";
      card.appendChild(img);
    } else {
      card.appendChild(el("div", "cover none", book.title));
    }
    const body = el("div", "body");
    body.appendChild(el("div", "title", book.title + (book.year ? " (" + book.year + ")" : "")));
    body.appendChild(el("div", "author", (book.authors || []).join(", ")));
    if (book.reason) body.appendChild(el("div", "reason", book.reason));
    card.appendChild(body);
    const actions = el("div", "actions");
    const buttons = [["like", null, "I like this"], ["dislike", null, "Not for me"],
                     ["read", "Read", "I have already read it"]];
    for (const [kind, label, title] of buttons) {
      const btn = el("button", "fb fb-" + kind, label);
      if (!label) btn.appendChild(thumbIcon(kind === "dislike"));
      btn.type = "button";
      btn.title = title;
      btn.setAttribute("aria-label", title + ": " + book.title);
      btn.setAttribute("aria-pressed", "false");
      btn.addEventListener("click", () => feedback(card, book, kind, btn));
      actions.appendChild(btn);
    }
    card.appendChild(actions);
    return card;
  }

  function showReply(reply) {
    const frag = document.createDocumentFragment();
    let text = reply.text || "";
    if (reply.question) {
      // the text ends with the question for text-only clients; the page shows it under the cards
      const lines = text.split("\n");
      if (lines.length > 1 && lines[lines.length - 1].includes(reply.question)) lines.pop();
      text = lines.join("\n");
    }
    const m = addMessage("bot", text);
    if (reply.books && reply.books.length) {
      const row = el("div", "cards");
      for (const b of reply.books) row.appendChild(bookCard(b));
      frag.appendChild(row);
    }
    if (reply.question) frag.appendChild(el("div", "question", reply.question));
    m.appendChild(frag);
    scrollDown();
  }

  function showError(err) {
    addMessage("error", "Sorry: " + err.message);
  }

  async function feedback(card, book, kind, btn) {
    const pressed = btn.getAttribute("aria-pressed") === "true";
    if (pressed) return;
    try {
      const out = await api("/api/feedback", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ book_id: book.id, kind: kind }),
      });
      for (const b of card.querySelectorAll(".actions button")) b.setAttribute("aria-pressed", "false");
      btn.setAttribute("aria-pressed", "true");
      card.classList.remove("liked", "disliked", "read");
      card.classList.add(kind === "like" ? "liked" : kind === "dislike" ? "disliked" : "read");
      if (out && out.reply && (out.reply.text || (out.reply.books || []).length)) showReply(out.reply);
    } catch (err) { showError(err); }
  }

  async function sendText(text) {
    addMessage("me", text);
    setTyping(true);
    try {
      showReply(await api("/api/chat", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text: text }),
      }));
    } catch (err) { showError(err); }
    finally { setTyping(false); input.focus(); }
  }

  async function sendPhoto(file) {
    const img = el("img", "sent");
    img.alt = "your photo";
    img.src = URL.createObjectURL(file);
    addMessage("me", "", img);
    setTyping(true);
    const data = new FormData();
    data.append("file", file);
    const words = input.value.trim();
    if (words) { data.append("text", words); input.value = ""; }
    try {
      showReply(await api("/api/chat/photo", { method: "POST", body: data }));
    } catch (err) { showError(err); }
    finally { setTyping(false); photo.value = ""; }
  }

  // what the server is still preparing (models loading, background build): /healthz
  const status = document.getElementById("status");
  async function pollStatus() {
    let h = null;
    try { h = await api("/healthz"); } catch (e) { h = null; }
    if (h && h.status === "loading") {
      status.textContent = h.message || "Still preparing…";
      status.hidden = false;
      setTimeout(pollStatus, 3000);
    } else if (h) {
      status.hidden = true;
    } else {
      setTimeout(pollStatus, 5000);
    }
  }
  pollStatus();

  // your data: /api/users/me/data (the link downloads it); "Forget me" erases it
  document.getElementById("forget").addEventListener("click", async () => {
    if (!window.confirm("Erase everything coverstory keeps about you (ratings, likes, chat " +
                        "turns, profile)? This cannot be undone.")) return;
    try {
      const out = await api("/api/users/me", { method: "DELETE" });
      const n = Object.values(out.deleted || {}).reduce((a, b) => a + b, 0);
      addMessage("bot", out.erased ? "Done: I have forgotten you (" + n + " records erased)."
                                   : "I had nothing stored about you.");
    } catch (err) { showError(err); }
  });

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    sendText(text);
  });
  photo.addEventListener("change", () => {
    if (photo.files && photo.files[0] && !busy) sendPhoto(photo.files[0]);
  });
})();
