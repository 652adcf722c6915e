/* qrauth: a countdown people can read and screen readers hear, politely
 * and rarely. On a QR page, the time the code has left (page.js passes on
 * the status's expires_in); on the "Too many requests" page, the wait
 * before trying again (data-qrauth-seconds, started here).
 *
 * Markup: an element with data-qrauth-countdown (a sentence with {time}),
 * optionally data-qrauth-done (said at zero), holding a [data-qrauth-clock]
 * that shows m:ss every second and a polite live region [data-qrauth-said]
 * that says the time in words, in the page's language, at the start, at
 * each whole minute, at 30 seconds and at the end.
 * It sets window.QRAuthCountdown(element) -> {set(seconds), stop()}.
 * No framework, no inline script (works under a strict CSP). */
(function (root) {
  "use strict";

  var language = document.documentElement.lang || undefined;
  var RESYNC = 1500; // ms: a new deadline closer than this to ours is network jitter

  function pad(number) {
    return (number < 10 ? "0" : "") + number;
  }

  // 4:05, or 1:02:03: what a clock shows.
  function clock(seconds) {
    var minutes = Math.floor(seconds / 60);
    if (minutes >= 60) {
      return Math.floor(minutes / 60) + ":" + pad(minutes % 60) + ":" + pad(seconds % 60);
    }
    return minutes + ":" + pad(seconds % 60);
  }

  // "4 minutes", "30 seconds", as the page's language says them (Intl
  // knows each language's plurals); an older browser reads the clock.
  function words(seconds) {
    var minutes = seconds >= 60;
    var options = { style: "unit", unit: minutes ? "minute" : "second", unitDisplay: "long" };
    try {
      return new Intl.NumberFormat(language, options).format(
        minutes ? Math.round(seconds / 60) : seconds
      );
    } catch (error) {
      return clock(seconds);
    }
  }

  // Whether going from `before` down to `now` seconds passed a moment worth
  // saying: a whole minute, or 30 seconds.
  function passedMark(before, now) {
    if (now >= before) return false;
    if (now <= 30 && before > 30) return true;
    return now > 0 && Math.ceil(now / 60) * 60 < before;
  }

  function Countdown(element) {
    var sentence = element.getAttribute("data-qrauth-countdown") || "{time}";
    var done = element.getAttribute("data-qrauth-done");
    var clockEl = element.querySelector("[data-qrauth-clock]");
    var said = element.querySelector("[data-qrauth-said]");
    var deadline = null;
    var shown = null; // the seconds on the clock now
    var timer = null;

    function fill(time) {
      return sentence.replace("{time}", time);
    }

    function say(text) {
      if (said && said.textContent !== text) said.textContent = text;
    }

    function tick() {
      var left = Math.max(deadline - Date.now(), 0);
      var seconds = Math.ceil(left / 1000);
      if (seconds !== shown) {
        var text = seconds === 0 && done ? done : fill(clock(seconds));
        if (clockEl) clockEl.textContent = text;
        if (seconds === 0 && done) say(done);
        else if (shown === null || passedMark(shown, seconds)) say(fill(words(seconds)));
        shown = seconds;
      }
      timer = seconds > 0 ? setTimeout(tick, left % 1000 || 1000) : null;
    }

    return {
      // `seconds` left from now; a value within a second or so of what the
      // countdown shows is taken as the same deadline (polls arrive late).
      set: function (seconds) {
        var next = Date.now() + Math.max(Number(seconds) || 0, 0) * 1000;
        if (deadline !== null && Math.abs(next - deadline) < RESYNC) return;
        deadline = next;
        clearTimeout(timer);
        // The clock is for the eye; the live region speaks for it.
        if (clockEl && said) clockEl.setAttribute("aria-hidden", "true");
        tick();
        element.hidden = false;
      },
      stop: function () {
        clearTimeout(timer);
        element.hidden = true;
      },
    };
  }

  root.QRAuthCountdown = Countdown;

  Array.prototype.forEach.call(
    document.querySelectorAll("[data-qrauth-countdown][data-qrauth-seconds]"),
    function (element) {
      Countdown(element).set(element.getAttribute("data-qrauth-seconds"));
    }
  );
})(window);
