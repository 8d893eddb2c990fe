/*
 * atone sandbox widget (Kessai) — a stand-in for https://ct-auth.a-to-ne.jp/v1/atone.js.
 *
 *   Atone.config({pub_key, pre_token, payment, terminal_id,
 *                 authenticated(authentication_token, user_no), succeeded(response),
 *                 failed(response), cancelled(), error(name, message, errors)}, onReady);
 *   Atone.start();          // open the modal
 *   Atone.merge({pre_token}); // update options after config
 *
 * The modal is an iframe served by the emulator (<base>/modal). It talks to this page by
 * postMessage with the message protocol of the early official atone.js (protocol note §3.4):
 * the iframe posts {msg: "angular_loaded"}; the page posts {pub_key, pre_token, payment} and then
 * "start"; the iframe answers with {msg: "authenticated" | "succeeded" | "failed" | "cancelled" |
 * "error" | "sign_out" | "link" | "box_height", ...}. After every close the page re-posts its
 * config, so start() can be called again.
 */
(function (window, document) {
  "use strict";

  var script = document.currentScript;
  var BASE = script && script.src ? script.src.replace(/atone\.js(?:[?#].*)?$/, "") : "__ATONE_SANDBOX_BASE__";
  var ORIGIN = new URL(BASE, window.location.href).origin;
  var Z_INDEX = "2147483000";

  var options = null;
  var onReady = null;
  var overlay = null;
  var frame = null;
  var loaded = false;
  var startWhenLoaded = false;

  function invoke(name, args) {
    var callback = options && options[name];
    if (typeof callback !== "function") {
      return;
    }
    try {
      callback.apply(null, args);
    } catch (err) {
      window.setTimeout(function () {
        throw err;
      });
    }
  }

  function postToFrame(message) {
    if (frame && frame.contentWindow) {
      frame.contentWindow.postMessage(message, ORIGIN);
    }
  }

  function postConfig() {
    postToFrame({
      pub_key: options.pub_key,
      pre_token: options.pre_token || "",
      payment: options.payment,
      terminal_id: options.terminal_id || null
    });
  }

  function buildFrame() {
    overlay = document.createElement("div");
    overlay.id = "atone-sandbox-overlay";
    overlay.setAttribute("data-testid", "atone-overlay");
    overlay.style.cssText =
      "position:fixed;inset:0;display:none;align-items:center;justify-content:center;" +
      "background:rgba(0,0,0,0.55);z-index:" + Z_INDEX + ";";
    frame = document.createElement("iframe");
    frame.id = "atone-sandbox-frame";
    frame.name = "atone-sandbox-frame";
    frame.title = "atone";
    frame.setAttribute("data-testid", "atone-frame");
    frame.src = BASE + "modal";
    frame.style.cssText =
      "width:420px;max-width:100%;height:560px;max-height:100%;border:0;border-radius:8px;background:#fff;";
    overlay.appendChild(frame);
    document.body.appendChild(overlay);
  }

  function whenBodyReady(fn) {
    if (document.body) {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  function show() {
    overlay.style.display = "flex";
    postToFrame("start");
  }

  function close() {
    overlay.style.display = "none";
    postConfig();
  }

  window.addEventListener("message", function (event) {
    if (!frame || event.source !== frame.contentWindow || event.origin !== ORIGIN) {
      return;
    }
    var data = event.data || {};
    switch (data.msg) {
      case "angular_loaded":
        loaded = true;
        postConfig();
        if (onReady) {
          var ready = onReady;
          onReady = null;
          ready();
        }
        if (startWhenLoaded) {
          startWhenLoaded = false;
          show();
        }
        break;
      case "authenticated":
        options.pre_token = data.authentication_token;
        invoke("authenticated", [data.authentication_token, data.user_no]);
        break;
      case "sign_out":
        options.pre_token = "";
        break;
      case "link":
        window.open(data.url, "_blank", "noopener");
        break;
      case "box_height":
        frame.style.height = String(data.height) + "px";
        break;
      case "cancelled":
        close();
        invoke("cancelled", []);
        break;
      case "failed":
        close();
        invoke("failed", [data.response]);
        break;
      case "succeeded":
        close();
        invoke("succeeded", [data.response]);
        break;
      case "error":
        close();
        invoke("error", [data.name, data.message, data.errors]);
        break;
      default:
        break;
    }
  });

  window.Atone = {
    config: function (opts, ready) {
      options = {};
      for (var key in opts) {
        if (Object.prototype.hasOwnProperty.call(opts, key)) {
          options[key] = opts[key];
        }
      }
      if (typeof ready === "function") {
        onReady = ready;
      }
      whenBodyReady(function () {
        if (!frame) {
          buildFrame();
        } else if (loaded) {
          postConfig();
          if (onReady) {
            var callback = onReady;
            onReady = null;
            callback();
          }
        }
      });
    },
    merge: function (opts) {
      if (!options) {
        throw new Error("Atone.config must be called before Atone.merge");
      }
      for (var key in opts) {
        if (Object.prototype.hasOwnProperty.call(opts, key)) {
          options[key] = opts[key];
        }
      }
      if (loaded) {
        postConfig();
      }
    },
    start: function () {
      if (!options) {
        throw new Error("Atone.config must be called before Atone.start");
      }
      if (loaded) {
        show();
      } else {
        startWhenLoaded = true;
      }
    },
    sync: function () {
      // Seen in one integration; its meaning is unknown (protocol note §3.1). A no-op here.
    }
  };
})(window, document);
