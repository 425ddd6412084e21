// The portal's live parts. Every page works without this script: forms post,
// the server redirects, the browser gets the next page. With it, the
// purchase breakdown follows the choices as they change, the confirmation
// shows its progress in place, and seats are assigned and revoked without
// leaving the page. No framework: the server renders, this swaps its HTML.
(function () {
  "use strict";

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  // Puts the main landmark of `doc` in place of the page's, and moves focus
  // to its status message (or its heading) so that screen readers hear it.
  function swapMain(doc) {
    var fresh = doc.querySelector("main");
    var old = document.querySelector("main");
    if (!fresh || !old) {
      return false;
    }
    old.replaceWith(fresh);
    if (doc.title) {
      document.title = doc.title;
    }
    var target = fresh.querySelector("[role=status], [role=alert], h1");
    if (target) {
      target.setAttribute("tabindex", "-1");
      target.focus();
    }
    return true;
  }

  // Purchase: add-ons stay within the seats, and the breakdown is priced by
  // the server again a moment after each change.
  function liveBreakdown(choices) {
    var quantity = choices.querySelector("#quantity");
    var timer = null;
    var update = choices.querySelector("[data-without-script]");
    if (update) {
      update.hidden = true;
    }
    function keepAddOnsWithinSeats() {
      var seats = parseInt(quantity.value, 10);
      choices.querySelectorAll("input[data-add-on]").forEach(function (addOn) {
        if (seats > 0) {
          addOn.max = String(seats);
          if (parseInt(addOn.value, 10) > seats) {
            addOn.value = String(seats);
          }
        }
      });
    }
    function price() {
      var query = new URLSearchParams(new FormData(choices)).toString();
      fetch(choices.action + "?" + query, { credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          var doc = parse(html);
          // Prices per user follow the license type.
          doc.querySelectorAll("[data-live][id]").forEach(function (part) {
            var shown = document.getElementById(part.id);
            if (shown) {
              shown.textContent = part.textContent;
            }
          });
          var fresh = doc.getElementById("quote");
          var old = document.getElementById("quote");
          if (fresh && old) {
            old.replaceWith(fresh);
            history.replaceState(null, "", "?" + query);
          }
        })
        .catch(function () {
          if (update) {
            update.hidden = false;
          }
        });
    }
    choices.addEventListener("input", function () {
      keepAddOnsWithinSeats();
      clearTimeout(timer);
      timer = setTimeout(price, 250);
    });
    keepAddOnsWithinSeats();
  }

  // Confirmation: asks again every few seconds until the seats exist (the
  // page refreshes itself the same way when this script does not run).
  function pollProgress(seconds) {
    setTimeout(function () {
      fetch(location.href, { credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          swapMain(parse(html));
          var next = document.querySelector("main [data-poll]");
          if (next) {
            pollProgress(parseInt(next.getAttribute("data-poll"), 10) || 2);
          }
        })
        .catch(function () { pollProgress(seconds * 2); });
    }, seconds * 1000);
  }

  // Forms marked data-in-place (assign, revoke) are sent in the background
  // and the page is updated where it stands; on any failure the form is
  // sent the ordinary way.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-in-place]")) {
      return;
    }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
    }
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)).toString(),
    })
      .then(function (response) {
        return response.text().then(function (html) {
          if (!swapMain(parse(html))) {
            throw new Error("no page");
          }
          if (response.redirected) {
            history.replaceState(null, "", response.url);
          }
        });
      })
      .catch(function () {
        form.submit();
      });
  });

  var choices = document.querySelector("form[data-live-breakdown]");
  if (choices) {
    liveBreakdown(choices);
  }
  var progress = document.querySelector("main [data-poll]");
  if (progress) {
    pollProgress(parseInt(progress.getAttribute("data-poll"), 10) || 2);
  }
})();
