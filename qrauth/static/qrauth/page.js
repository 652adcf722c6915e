/* qrauth: keeps the QR page alive. Once a second it asks the server for the
 * order's status and the current frame, draws the frame, and says what is
 * happening. No framework, no inline script (works under a strict CSP). */
(function () {
  "use strict";

  var box = document.querySelector("[data-qrauth-status]");
  if (!box) return;
  var canvas = box.querySelector("canvas");
  var messageEl = document.querySelector("[data-qrauth-message]");
  var newCode = document.querySelector("[data-qrauth-new]");
  var cancelForm = document.querySelector("[data-qrauth-cancel]");

  var PERIOD = 1000; // a new frame every second, as BankID does
  var MAX_BACKOFF = 30000;
  var delay = PERIOD;
  var timer = null;
  var inFlight = false; // never two polls at once on a slow network
  var finished = false;

  function show(status) {
    if (status.message && messageEl.textContent !== status.message) {
      messageEl.textContent = status.message; // an aria-live region: read out
    }
    if (canvas && status.frame && window.QRAuthEncoder) {
      window.QRAuthEncoder.draw(canvas, status.frame);
      canvas.hidden = false;
    }
    if (status.state !== "pending") finish(status);
  }

  function finish(status) {
    finished = true;
    if (canvas) canvas.hidden = true;
    if (cancelForm) cancelForm.hidden = true;
    if (newCode && status.state === "failed") newCode.classList.add("qrauth-primary");
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
          finish({ state: "failed" });
          return null;
        }
        return response.json().then(function (status) {
          if (!response.ok && response.status !== 503) throw new Error(response.status);
          return status;
        });
      })
      .then(function (status) {
        if (!status) return;
        delay = status.hint === "unavailable" ? Math.min(delay * 2, MAX_BACKOFF) : PERIOD;
        show(status);
      })
      .catch(function () {
        delay = Math.min(delay * 2, MAX_BACKOFF); // back off while the network is away
      })
      .then(function () {
        inFlight = false;
        schedule();
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !finished) poll();
  });
  poll();
})();
