/* qrauth: keeps a QR page alive (page.html, signin.html, and the phone's
 * handoff_wait.html). It listens to the order's event stream where the
 * page names one (data-qrauth-events: AUTH_QR_CODE_PUSH, an ASGI server),
 * and otherwise, or as soon as the stream fails, asks the server once a
 * second. Either way it gets the order's status and the current frame,
 * draws the frame, counts down the time left
 * (countdown.js), and says what is happening, in a tone the eye can tell
 * (data-qrauth-tone: success, failure, warning, info). The code goes away
 * once the server stops showing it (show_code: over, or open on a signed-in
 * phone), and with it what goes with it (data-qrauth-with-code); once the
 * order is over, the ways on appear (data-qrauth-when-over). On a sign-in
 * page, once a phone approved, it sends the page's Continue form, which
 * signs this browser in.
 * No framework, no inline script (works under a strict CSP). */
(function () {
  "use strict";

  var box = document.querySelector("[data-qrauth-status]");
  if (!box) return;
  var canvas = box.querySelector("canvas");
  var missing = box.querySelector("[data-qrauth-missing]");
  var messageEl = document.querySelector("[data-qrauth-message]");
  var result = document.querySelector("[data-qrauth-result]");
  var newCode = document.querySelector("[data-qrauth-new]");
  var cancelForm = document.querySelector("[data-qrauth-cancel]");
  var collectForm = document.querySelector("[data-qrauth-collect]");
  var numberEl = document.querySelector("[data-qrauth-number]");
  var askForm = document.querySelector("[data-qrauth-ask]");
  var countdownEl = document.querySelector("[data-qrauth-countdown]");
  var countdown = countdownEl && window.QRAuthCountdown && window.QRAuthCountdown(countdownEl);
  // A plain image that is a frame (approve, not animated): redrawn in place,
  // where a page without this script reloads itself (<noscript> meta refresh).
  var plainFrame = box.querySelector("img[data-qrauth-refresh]");
  var pictureTimer = null;
  // With this script running, Continue is sent for the person.
  if (collectForm) collectForm.hidden = true;
  // From here on this script draws the code and says what happens: the
  // sentence for a code that never came (static files not served) is not
  // needed, unless the encoder that draws it is missing.
  if (missing && (plainFrame || window.QRAuthEncoder)) missing.hidden = true;

  var eventsUrl = box.getAttribute("data-qrauth-events");
  var source = null; // the open EventSource, while listening
  var watchdog = null;
  // A stream sends the status at once, then a frame a second or a heartbeat
  // every 5 s. Silent longer than this, something holds it back (a proxy
  // that buffers, a filter): poll instead, saying nothing about it.
  var FIRST_EVENT = 4000;
  var SILENCE = 12000;

  var PERIOD = 1000; // a new frame every second, as BankID does
  var MAX_BACKOFF = 30000;
  var delay = PERIOD;
  var timer = null;
  var inFlight = false; // never two polls at once on a slow network
  var finished = false;
  var failures = 0; // polls in a row that got no answer

  function each(selector, action) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), action);
  }

  function say(message) {
    if (messageEl && message && messageEl.textContent !== message) {
      messageEl.textContent = message; // an aria-live region: read out
    }
  }

  function setTone(tone) {
    if (!result) return;
    result.setAttribute("data-qrauth-tone", tone || "");
    Array.prototype.forEach.call(result.querySelectorAll("[data-qrauth-mark]"), function (mark) {
      mark.hidden = mark.getAttribute("data-qrauth-mark") !== tone;
    });
  }

  // The code, and what goes with it (the sentence asking to scan it, the
  // note on who may), shown or not: a code the server no longer shows is
  // not left on the screen for a second person to scan.
  function showCode(shown) {
    box.hidden = !shown;
    each("[data-qrauth-with-code]", function (element) {
      element.hidden = !shown;
    });
    if (!shown) {
      clearInterval(pictureTimer);
      pictureTimer = null;
    } else if (plainFrame && !pictureTimer) {
      var seconds = Number(plainFrame.getAttribute("data-qrauth-refresh")) || 1;
      pictureTimer = setInterval(refreshPicture, seconds * 1000);
    }
  }

  function show(status) {
    say(status.message);
    setTone(status.tone);
    if (countdown && status.expires_in > 0) countdown.set(status.expires_in);
    if (status.hint === "unavailable") {
      // Redis is away for now, the order may well live on: keep asking,
      // less often, but take the code away (its frame goes stale in
      // seconds), what goes with it, and the time left, until it is back.
      showCode(false);
      if (countdownEl) countdownEl.hidden = true;
      return;
    }
    if (countdown) countdownEl.hidden = false;
    if (status.show_code === false) showCode(false);
    else {
      showCode(true);
      if (canvas && status.frame && window.QRAuthEncoder) {
        window.QRAuthEncoder.draw(canvas, status.frame);
        canvas.hidden = false;
      }
    }
    showNumber(status.number);
    if (askForm) askForm.hidden = status.hint !== "confirm";
    if (status.state !== "pending") finish(status);
    if (status.hint === "approved" && collectForm) collectForm.submit();
  }

  function showNumber(number) {
    if (!numberEl) return;
    var strong = numberEl.querySelector("strong");
    if (strong && number) strong.textContent = number;
    numberEl.hidden = !number;
  }

  function refreshPicture() {
    var url = plainFrame.getAttribute("src").split("?")[0];
    plainFrame.setAttribute("src", url + "?t=" + Date.now());
  }

  // The order is over: no code, no countdown, no Cancel; the ways on.
  function finish(status) {
    finished = true;
    stopListening();
    showCode(false);
    if (countdown) countdown.stop();
    if (cancelForm) cancelForm.hidden = true;
    if (askForm) askForm.hidden = true;
    each("[data-qrauth-when-over]", function (element) {
      element.hidden = false;
      // Success leads to the site; on a sign-in page, Continue is already
      // on its way, and the password is no way on then.
      if (status.state === "complete" && !collectForm) element.classList.add("qrauth-primary");
    });
    if (newCode && status.state === "failed") newCode.classList.add("qrauth-primary");
  }

  // Twice the last wait, at most MAX_BACKOFF, and no sooner than the
  // server's Retry-After (in seconds) asks.
  function backOff(retryAfter) {
    var wait = Math.min(delay * 2, MAX_BACKOFF);
    return retryAfter > 0 ? Math.max(wait, retryAfter * 1000) : wait;
  }

  // This browser no longer holds the order: a newer code was opened in
  // another tab, or the session ended.
  function gone() {
    say(messageEl && messageEl.getAttribute("data-qrauth-gone"));
    setTone("failure");
    finish({ state: "failed" });
  }

  // The event stream: true if the page listens to one now.
  function listen() {
    if (!eventsUrl || !window.EventSource || finished) return false;
    stopListening(); // never two streams at once
    source = new EventSource(eventsUrl);
    hearFrom(FIRST_EVENT);
    source.onmessage = function (event) {
      hearFrom(SILENCE);
      show(JSON.parse(event.data));
    };
    source.addEventListener("ping", function () {
      hearFrom(SILENCE);
    });
    source.addEventListener("gone", gone);
    source.onerror = function () {
      // A dropped stream comes back by itself (the server said when, with
      // retry:); one refused (404, 429, 503: no stream) does not.
      if (source && source.readyState === window.EventSource.CLOSED) fallBack();
    };
    return true;
  }

  function hearFrom(within) {
    clearTimeout(watchdog);
    watchdog = setTimeout(fallBack, within);
  }

  function stopListening() {
    clearTimeout(watchdog);
    if (source) source.close();
    source = null;
  }

  // The stream failed: poll from now on, as a page without one does.
  function fallBack() {
    stopListening();
    eventsUrl = null;
    if (!finished) poll();
  }

  function schedule() {
    if (finished || document.hidden) return; // hidden: resume on visibility
    clearTimeout(timer);
    timer = setTimeout(poll, delay);
  }

  function poll() {
    if (inFlight || finished) return;
    inFlight = true;
    fetch(box.getAttribute("data-qrauth-status"), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (response.status === 404) {
          gone();
          return null;
        }
        if (response.status === 429) {
          // Asked sooner than the server allows (the tab came back, or the
          // network bunched two polls): nothing changed; ask when told.
          return { slowDown: Number(response.headers.get("Retry-After")) || 1 };
        }
        return response.json().then(function (status) {
          if (!response.ok && response.status !== 503) throw new Error(response.status);
          return { status: status, retryAfter: Number(response.headers.get("Retry-After")) };
        });
      })
      .then(function (answer) {
        failures = 0;
        if (!answer) return;
        if (answer.slowDown) {
          delay = Math.max(PERIOD, answer.slowDown * 1000);
          return;
        }
        var unavailable = answer.status.hint === "unavailable";
        delay = unavailable ? backOff(answer.retryAfter) : PERIOD;
        show(answer.status);
      })
      .catch(function () {
        // The network is away, or something between us and the site
        // answers instead of it (a proxy's error page).
        delay = backOff(0);
        failures += 1;
        if (failures >= 2) {
          say(messageEl && messageEl.getAttribute("data-qrauth-offline"));
          setTone("warning");
        }
      })
      .then(function () {
        inFlight = false;
        schedule();
      });
  }

  // Nothing for a screen nobody sees: no poll, no stream; both resume,
  // with the status of then, when it is seen again.
  function start() {
    // A page opened in a background tab listens once it is seen.
    if (source || (document.hidden && eventsUrl)) return;
    if (!listen()) poll();
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      clearTimeout(timer);
      stopListening();
    } else if (!finished) start();
  });
  if (plainFrame && !box.hidden) showCode(true); // starts the plain frame's refresh
  start();
})();
