// The console's own script (no inline script anywhere: the Content-Security-Policy forbids it).
// A one-click dev sign-in link carries the token in the URL's fragment, which never reaches the
// server or its logs: fill the sign-in form with it and submit.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("sign-in");
    if (!form || !window.location.hash) {
      return;
    }
    var params = new URLSearchParams(window.location.hash.slice(1));
    var token = params.get("token");
    if (token) {
      history.replaceState(null, "", window.location.pathname);
      form.elements.token.value = token;
      form.submit();
    }
  });
})();
