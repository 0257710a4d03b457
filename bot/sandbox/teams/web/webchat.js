// The sandbox's web chat: Teams-like 1:1 chats with pimbot, one pane per demo user, side by side.
//
// It speaks only the Teams twin's client API, as `pimbot chat` does: say (POST messages), press
// (POST actions: the twin turns Action.Execute into an invoke and Action.Submit into a message),
// sign in (POST signin), and long-poll the transcript (GET transcript?after=&wait=) for what the
// bot did. The chat as the user sees it (GET messages) is the one source of what is drawn.
//
// Safety: text goes into the page as text (textContent) or through markdown.js, which escapes it
// before adding its few tags; cards go through Microsoft's Adaptive Cards renderer with that same
// Markdown processor. The only HTML parsed anywhere is markdown.js's output.
"use strict";

(() => {
  const AC = window.AdaptiveCards;
  const Markdown = window.PimbotMarkdown;
  const MAX_PANES = 3;
  const POLL_SECONDS = 25;
  const RETRY_MS = 2000;
  const MAX_TOASTS = 3;
  const ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive";
  const OAUTH_CARD = "application/vnd.microsoft.card.oauth";
  const SENDS_TO_BOT = new Set(["Action.Execute", "Action.Submit"]);

  const panes = new Map(); // handle -> Pane
  const drawnCards = new WeakMap(); // card holder element -> {card, json} (Adaptive Cards objects)
  let people = [];
  let hostConfig = null;

  // -- small helpers -------------------------------------------------------------------------

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function markdownElement(tag, className, text) {
    const node = element(tag, className);
    // markdown.js escapes the text before adding tags (see its header): only its tags get in.
    const template = document.createElement("template");
    template.innerHTML = Markdown.toHtml(text);
    node.append(template.content);
    return node;
  }

  function initials(name) {
    const parts = String(name || "?").split(/\s+/).filter(Boolean);
    return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
  }

  function clockTime(timestamp) {
    const when = timestamp ? new Date(timestamp) : null;
    if (!when || Number.isNaN(when.getTime())) return "";
    return when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  class TwinError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function twin(method, path, { body, query, signal, accept = [200] } = {}) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(query || {})) url.searchParams.set(key, value);
    const response = await fetch(url, {
      method,
      signal,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
    if (!accept.includes(response.status)) {
      const message = payload && payload.error ? payload.error.message : response.statusText;
      throw new TwinError(response.status, message || `HTTP ${response.status}`);
    }
    return payload;
  }

  const userPath = (handle, what) => `/_sandbox/users/${encodeURIComponent(handle)}/${what}`;

  // -- one person's chat ---------------------------------------------------------------------

  class Pane {
    constructor(person) {
      this.person = person;
      this.handle = person.handle;
      this.root = document.getElementById("pane-template").content.firstElementChild.cloneNode(true);
      this.root.dataset.user = person.handle;
      this.list = this.root.querySelector(".messages");
      this.toasts = this.root.querySelector(".toasts");
      this.signIn = this.root.querySelector(".signin");
      this.rendered = new Map(); // message id -> {key, node}
      this.refreshed = new Set(); // messages whose card refresh Teams already sent
      this.lastSeq = 0;
      this.closed = false;
      this.aborter = new AbortController();
      this.drawing = null;
      this.drawAgain = false;

      this.root.querySelector(".subtitle").textContent = `chatting as ${person.displayName}`;
      this.root.querySelector(".close").addEventListener("click", () => closePane(this.handle));
      this.root.querySelector(".signin-button").addEventListener("click", () => this.signInNow());
      const form = this.root.querySelector(".compose");
      const box = form.querySelector("textarea");
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.say(box);
      });
      box.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.say(box);
        }
      });
    }

    async open() {
      await twin("POST", userPath(this.handle, "install"));
      const page = await twin("GET", userPath(this.handle, "transcript"), { query: { after: 0 } });
      let prompt = null; // a sign-in prompt still open from before the page was opened
      for (const event of page.events) {
        if (event.kind === "signin_required") prompt = event;
        if (event.kind === "signed_in") prompt = null;
      }
      if (prompt) this.showSignIn(prompt.text);
      this.lastSeq = page.last;
      await this.redraw();
      this.follow();
    }

    close() {
      this.closed = true;
      this.aborter.abort();
      this.root.remove();
    }

    async follow() {
      while (!this.closed) {
        try {
          const page = await twin("GET", userPath(this.handle, "transcript"), {
            query: { after: this.lastSeq, wait: POLL_SECONDS },
            signal: this.aborter.signal,
          });
          this.lastSeq = Math.max(this.lastSeq, page.last);
          await this.take(page.events);
        } catch (error) {
          if (this.closed) return;
          this.toast(`Lost the Teams twin (${error.message}); retrying…`, "error");
          await sleep(RETRY_MS);
        }
      }
    }

    async take(events) {
      let changed = false;
      for (const event of events) {
        switch (event.kind) {
          case "message":
          case "delete":
          case "card_view":
          case "user_message":
            changed = true;
            break;
          case "update":
            this.refreshed.delete(event.activityId); // Teams refreshes an updated card again
            changed = true;
            break;
          case "toast":
            this.toast(event.text, "info");
            break;
          case "error":
            this.toast(event.message || "Something went wrong.", "error");
            break;
          case "signin_required":
            this.showSignIn(event.text);
            break;
          case "signed_in":
            this.hideSignIn();
            this.toast("Signed in.", "info");
            break;
          default:
            break;
        }
      }
      if (changed) await this.redraw();
    }

    // The chat as the user sees it now; only messages that changed are drawn again.
    redraw() {
      if (this.drawing) {
        this.drawAgain = true;
        return this.drawing;
      }
      this.drawing = (async () => {
        do {
          this.drawAgain = false;
          await this.drawOnce();
        } while (this.drawAgain && !this.closed);
      })().finally(() => {
        this.drawing = null;
      });
      return this.drawing;
    }

    async drawOnce() {
      const page = await twin("GET", userPath(this.handle, "messages"));
      const stuckToBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
      const shown = new Set();
      let previous = null;
      for (const message of page.messages) {
        if (message.from === "user" && !message.text) continue; // an Action.Submit: not shown
        shown.add(message.id);
        const key = JSON.stringify([message.text, message.cards, oauthCards(message)]);
        let entry = this.rendered.get(message.id);
        if (!entry || entry.key !== key) {
          // what the person typed into the old card stays (a refresh must not wipe a reason)
          const node = this.drawMessage(message, entry ? typedValues(entry.node) : {});
          if (entry) entry.node.replaceWith(node);
          entry = { key, node };
          this.rendered.set(message.id, entry);
        }
        const expected = previous ? previous.nextSibling : this.list.firstChild;
        if (expected !== entry.node) this.list.insertBefore(entry.node, expected);
        previous = entry.node;
      }
      for (const [id, entry] of this.rendered) {
        if (!shown.has(id)) {
          entry.node.remove();
          this.rendered.delete(id);
        }
      }
      if (stuckToBottom) this.list.scrollTop = this.list.scrollHeight;
      for (const message of page.messages) this.refreshCard(message);
    }

    drawMessage(message, typed) {
      const fromBot = message.from === "bot";
      const item = element("li", "message " + (fromBot ? "from-bot" : "from-user"));
      item.dataset.id = message.id;
      if (fromBot) item.append(element("div", "avatar bot", "P"));
      const body = element("div", "message-body");
      const meta = element("div", "meta");
      if (fromBot) meta.append(element("span", "author", "pimbot"));
      meta.append(element("span", "time", clockTime(message.timestamp)));
      body.append(meta);
      if (message.text) {
        body.append(
          fromBot
            ? markdownElement("div", "bubble text", message.text)
            : element("div", "bubble text", message.text),
        );
      }
      for (const card of message.cards || []) {
        body.append(this.drawCard(message.id, withValues(card, typed)));
      }
      for (const card of oauthCards(message)) body.append(this.drawSignInCard(card));
      item.append(body);
      return item;
    }

    drawCard(messageId, json) {
      const holder = element("div", "card");
      const card = new AC.AdaptiveCard();
      drawnCards.set(holder, { card, json });
      card.hostConfig = hostConfig;
      card.onExecuteAction = (action) => this.press(messageId, json, card, action, holder);
      try {
        card.parse(json);
        const rendered = card.render();
        if (rendered) holder.append(rendered);
        else holder.append(element("div", "card-error", "This card could not be shown."));
      } catch (error) {
        holder.append(element("div", "card-error", `This card could not be shown: ${error.message}`));
      }
      return holder;
    }

    drawSignInCard(oauth) {
      const holder = element("div", "card oauth-card");
      holder.append(element("div", "oauth-text", oauth.text || "Sign in"));
      const button = element("button", "ac-pushButton", "Sign in");
      button.type = "button";
      button.addEventListener("click", () => this.signInNow());
      holder.append(button);
      return holder;
    }

    async press(messageId, cardJson, card, action, holder) {
      const type = action.getJsonTypeName();
      if (type === "Action.OpenUrl") {
        window.open(action.url, "_blank", "noopener,noreferrer");
        return;
      }
      if (!SENDS_TO_BOT.has(type)) return; // ShowCard and ToggleVisibility: the renderer's own
      const sent = action.toJSON();
      const inputs = {};
      if (sent.associatedInputs !== "none") {
        for (const input of card.getAllInputs()) {
          if (input.id) inputs[input.id] = input.value === undefined ? "" : String(input.value);
        }
      }
      this.clearToasts();
      holder.classList.add("busy");
      holder.setAttribute("aria-busy", "true");
      try {
        const result = await twin("POST", userPath(this.handle, "actions"), {
          body: { activityId: messageId, action: sent, inputs },
          accept: [200, 422],
        });
        if (result.inputErrors) {
          for (const [id, error] of Object.entries(result.inputErrors)) {
            this.toast(`${id}: ${error}`, "error");
          }
        } else if (result.status === null || result.status >= 400) {
          this.toast(`pimbot answered HTTP ${result.status}.`, "error");
        }
      } catch (error) {
        this.toast(error.message, "error");
      } finally {
        holder.classList.remove("busy");
        holder.removeAttribute("aria-busy");
      }
    }

    // Teams sends a card's `refresh` action by itself when the card is shown (the twin checks
    // `userIds`); once per card, and again after the bot updates it.
    async refreshCard(message) {
      const card = (message.cards || [])[0];
      if (!card || !card.refresh || this.refreshed.has(message.id)) return;
      this.refreshed.add(message.id);
      try {
        await twin("POST", userPath(this.handle, "refresh"), { body: { activityId: message.id } });
      } catch (error) {
        this.toast(error.message, "error");
      }
    }

    async say(box) {
      const text = box.value;
      if (!text.trim()) return;
      box.value = "";
      this.clearToasts();
      try {
        const result = await twin("POST", userPath(this.handle, "messages"), { body: { text } });
        if (result.status >= 400) this.toast(`pimbot answered HTTP ${result.status}.`, "error");
      } catch (error) {
        box.value = text;
        this.toast(error.message, "error");
      }
    }

    async signInNow() {
      try {
        const result = await twin("POST", userPath(this.handle, "signin"), { body: { mfa: true } });
        if (!result.exchanged) {
          this.hideSignIn();
          this.toast("Signed in with MFA. (Nothing was waiting for it.)", "info");
        }
      } catch (error) {
        this.toast(error.message, "error");
      }
    }

    showSignIn(text) {
      this.signIn.querySelector(".signin-text").textContent =
        `🔒 ${text || "Sign in"}: pimbot needs you to sign in again, with MFA.`;
      this.signIn.hidden = false;
    }

    hideSignIn() {
      this.signIn.hidden = true;
    }

    // Toasts stay until the person acts again or closes them (Teams fades them; a timer here
    // would make what a test or a reader sees depend on how fast the machine is).
    toast(text, kind) {
      const toast = element("div", `toast ${kind}`);
      toast.append(element("span", "toast-text", text));
      const close = element("button", "toast-close", "×");
      close.type = "button";
      close.setAttribute("aria-label", "Dismiss");
      close.addEventListener("click", () => toast.remove());
      toast.append(close);
      this.toasts.append(toast);
      while (this.toasts.children.length > MAX_TOASTS) this.toasts.firstElementChild.remove();
    }

    clearToasts() {
      this.toasts.replaceChildren();
    }
  }

  // The inputs of the cards in a drawn message whose value the person changed: {id: value}.
  function typedValues(node) {
    const typed = {};
    for (const holder of node.querySelectorAll(".card")) {
      const drawn = drawnCards.get(holder);
      if (!drawn) continue;
      const initial = inputValues(drawn.json);
      for (const input of drawn.card.getAllInputs()) {
        const value = input.value === undefined ? "" : String(input.value);
        if (input.id && value !== (initial.get(input.id) ?? "")) typed[input.id] = value;
      }
    }
    return typed;
  }

  // Every input of a card JSON with the value it starts with.
  function inputValues(json, found = new Map()) {
    if (Array.isArray(json)) {
      for (const item of json) inputValues(item, found);
    } else if (json && typeof json === "object") {
      if (String(json.type || "").startsWith("Input.") && json.id) {
        found.set(json.id, json.value === undefined ? "" : String(json.value));
      }
      for (const value of Object.values(json)) inputValues(value, found);
    }
    return found;
  }

  // A copy of the card JSON whose inputs start with the typed values (same input ids only).
  function withValues(json, typed) {
    if (!typed || Object.keys(typed).length === 0) return json;
    const copy = structuredClone(json);
    const visit = (node) => {
      if (Array.isArray(node)) {
        node.forEach(visit);
      } else if (node && typeof node === "object") {
        if (String(node.type || "").startsWith("Input.") && Object.hasOwn(typed, node.id)) {
          node.value = typed[node.id];
        }
        Object.values(node).forEach(visit);
      }
    };
    visit(copy);
    return copy;
  }

  function oauthCards(message) {
    return (message.attachments || [])
      .filter((a) => a && a.contentType === OAUTH_CARD && a.content)
      .map((a) => a.content);
  }

  // -- the page ------------------------------------------------------------------------------

  async function openPane(handle) {
    const person = people.find((p) => p.handle === handle);
    if (!person) return;
    if (panes.has(handle)) {
      panes.get(handle).root.querySelector("textarea").focus();
      return;
    }
    if (panes.size >= MAX_PANES) closePane(panes.keys().next().value);
    const pane = new Pane(person);
    panes.set(handle, pane);
    document.getElementById("panes").append(pane.root);
    markOpen();
    try {
      await pane.open();
    } catch (error) {
      pane.toast(`Cannot chat as ${person.displayName}: ${error.message}`, "error");
    }
  }

  function closePane(handle) {
    const pane = panes.get(handle);
    if (!pane) return;
    pane.close();
    panes.delete(handle);
    markOpen();
  }

  function markOpen() {
    for (const item of document.querySelectorAll("#people li")) {
      item.classList.toggle("open", panes.has(item.dataset.user));
    }
    document.getElementById("empty").hidden = panes.size > 0;
    const handles = [...panes.keys()];
    history.replaceState(null, "", handles.length ? `#${handles.join(",")}` : "#");
  }

  function drawPeople() {
    const list = document.getElementById("people");
    for (const person of people) {
      const item = element("li");
      item.dataset.user = person.handle;
      const button = element("button", "person");
      button.type = "button";
      button.append(element("span", "avatar", initials(person.displayName)));
      const names = element("span", "names");
      names.append(element("span", "name", person.displayName));
      names.append(element("span", "job", person.jobTitle || person.handle));
      button.append(names);
      button.addEventListener("click", () => openPane(person.handle));
      item.append(button);
      list.append(item);
    }
  }

  async function start() {
    // Teams renders Markdown in TextBlocks; markdown.js escapes the text first.
    AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
      result.outputHtml = Markdown.toHtml(text);
      result.didProcess = true;
    };
    const [config, directory] = await Promise.all([
      twin("GET", "/_sandbox/web/teams_host_config.json"),
      twin("GET", "/_sandbox/users"),
    ]);
    hostConfig = new AC.HostConfig(config);
    people = directory.users;
    document.getElementById("tenant").textContent = directory.tenant;
    drawPeople();
    const wanted = decodeURIComponent(window.location.hash.slice(1)).split(",").filter(Boolean);
    for (const handle of wanted.length ? wanted : [people[0] && people[0].handle]) {
      if (handle) await openPane(handle);
    }
    document.body.dataset.ready = "true";
  }

  start().catch((error) => {
    const empty = document.getElementById("empty");
    empty.textContent = `The web chat could not start: ${error.message}`;
    empty.hidden = false;
  });
})();
