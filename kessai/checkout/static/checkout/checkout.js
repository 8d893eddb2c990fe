/*
 * Kessai hosted checkout: runs the provider's widget and reports its callbacks to the hub.
 *
 * The page carries its configuration in <script id="checkout-config" type="application/json">:
 *   {provider, widget: {...provider options...}, urls: {result, authenticated, page}, messages: {...}}
 * The CSRF token comes from the method form's hidden input. What the browser reports is only a hint:
 * the hub confirms the transaction with the provider before it records anything.
 */
(function (window, document) {
  "use strict";

  var configNode = document.getElementById("checkout-config");
  if (!configNode) {
    return;
  }
  var cfg = JSON.parse(configNode.textContent);
  var texts = cfg.messages || {};
  var messageBox = document.getElementById("checkout-message");
  var payButton = document.getElementById("pay-button");
  var switchButton = document.getElementById("switch-button");
  var form = document.getElementById("method-form");
  var csrfInput = form ? form.querySelector("input[name=csrfmiddlewaretoken]") : null;
  var csrfToken = csrfInput ? csrfInput.value : "";
  var MAX_RETRIES = 5;
  var RETRY_DELAY_MS = 1500;

  function show(text) {
    messageBox.textContent = text || "";
    messageBox.hidden = !text;
  }

  function post(url, body) {
    return window.fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) {
        return {ok: response.ok, status: response.status, data: data || {}};
      }, function () {
        return {ok: response.ok, status: response.status, data: {}};
      });
    });
  }

  function confirmResult(providerRef, attempt) {
    payButton.disabled = true;
    show(texts.confirming);
    post(cfg.urls.result, {provider_ref: providerRef}).then(function (res) {
      if (res.data.redirect) {
        window.location.assign(res.data.redirect);
        return;
      }
      if (res.data.retry && attempt < MAX_RETRIES) {
        window.setTimeout(function () { confirmResult(providerRef, attempt + 1); }, RETRY_DELAY_MS);
        return;
      }
      show(res.data.retry ? texts.retry_failed : (res.data.message || texts.error));
    }, function () {
      if (attempt < MAX_RETRIES) {
        window.setTimeout(function () { confirmResult(providerRef, attempt + 1); }, RETRY_DELAY_MS);
        return;
      }
      show(texts.retry_failed);
    });
  }

  // The buyer's token is stored before the result is reported (one request at a time).
  var stored = window.Promise.resolve();

  var hooks = {
    authenticated: function (token, userNo) {
      stored = post(cfg.urls.authenticated, {authentication_token: token, user_no: userNo || ""}).then(
        function () {},
        function () {}
      );
    },
    result: function (providerRef) {
      if (providerRef) {
        stored.then(function () { confirmResult(String(providerRef), 1); });
      } else {
        hooks.error("");
      }
    },
    cancelled: function () {
      payButton.disabled = false;
      show(texts.cancelled);
    },
    error: function (message) {
      payButton.disabled = false;
      show(texts.error + (message ? " " + message : ""));
    }
  };

  // One driver per provider widget: configure it with the hub's options and our hooks.
  var drivers = {
    atone: function (widget) {
      if (!window.Atone) {
        return null;
      }
      var options = {
        pub_key: widget.pub_key,
        pre_token: widget.pre_token || "",
        payment: widget.payment,
        authenticated: function (token, userNo) { hooks.authenticated(token, userNo); },
        succeeded: function (response) { hooks.result(response && response.id); },
        failed: function (response) {
          // NG carries the transaction id; an invalid payment gives an error object instead.
          if (response && response.id) {
            hooks.result(response.id);
          } else {
            hooks.error(response && response.message);
          }
        },
        cancelled: function () { hooks.cancelled(); },
        error: function (name, message) { hooks.error(message); }
      };
      if (widget.terminal_id) {
        options.terminal_id = widget.terminal_id;
      }
      window.Atone.config(options);
      return {start: function () { window.Atone.start(); }};
    }
  };

  function selectedIsCurrent() {
    var checked = form ? form.querySelector("input[name=payment_method]:checked") : null;
    return !checked || checked.getAttribute("data-current") === "true";
  }

  function syncButtons() {
    var current = selectedIsCurrent();
    payButton.hidden = !current;
    if (switchButton) {
      switchButton.hidden = current;
    }
  }

  var driver = drivers[cfg.provider] ? drivers[cfg.provider](cfg.widget) : null;
  if (!driver) {
    show(texts.unavailable);
    return;
  }
  if (form) {
    form.addEventListener("change", syncButtons);
  }
  syncButtons();
  payButton.disabled = false;
  payButton.addEventListener("click", function () {
    show("");
    payButton.disabled = true;
    driver.start();
  });
})(window, document);
