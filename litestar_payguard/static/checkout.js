/* payguard checkout.js: opens a session's hosted checkout page in a modal, on the merchant's own page.
 *
 *   PayGuardCheckout.open({checkoutUrl, onSuccess, onFailure, onClose})
 *
 * The page reports by postMessage to this page's exact origin; only messages from the checkout's exact origin
 * and from its own frame are heard. No dependencies.
 */
(function () {
  "use strict";

  var current = null;

  function style(element, rules) {
    for (var name in rules) {
      element.style.setProperty(name, rules[name]);
    }
    return element;
  }

  function call(callback, value) {
    if (typeof callback === "function") {
      callback(value);
    }
  }

  function open(options) {
    if (!options || !options.checkoutUrl) {
      throw new TypeError("PayGuardCheckout.open needs {checkoutUrl}");
    }
    if (current) {
      current.close();
    }
    var url = new URL(options.checkoutUrl, document.baseURI);
    var origin = url.origin;
    url.searchParams.set("embed", window.location.origin);

    var overlay = style(document.createElement("div"), {
      position: "fixed", inset: "0", "z-index": "2147483647", display: "flex", "align-items": "center",
      "justify-content": "center", background: "rgba(15, 17, 20, 0.6)"
    });
    overlay.setAttribute("data-payguard-checkout", "");
    var dialog = style(document.createElement("div"), {
      position: "relative", width: "min(480px, 100vw)", height: "min(680px, 100vh)", background: "#fff",
      "border-radius": "12px", overflow: "hidden", "box-shadow": "0 12px 40px rgba(0, 0, 0, 0.3)"
    });
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-label", "Checkout");
    var close = style(document.createElement("button"), {
      position: "absolute", top: "6px", right: "6px", width: "36px", height: "36px", border: "0",
      "border-radius": "18px", background: "#f4f5f7", cursor: "pointer", "font-size": "20px", "line-height": "36px"
    });
    close.type = "button";
    close.setAttribute("aria-label", "Close checkout");
    close.textContent = "\u00d7";
    var frame = style(document.createElement("iframe"), { width: "100%", height: "100%", border: "0" });
    frame.title = "Checkout";
    frame.setAttribute("allow", "payment");
    frame.src = url.href;
    dialog.appendChild(frame);
    dialog.appendChild(close);
    overlay.appendChild(dialog);

    var previousFocus = document.activeElement;
    var closed = false;

    function teardown() {
      if (closed) {
        return;
      }
      closed = true;
      window.removeEventListener("message", onMessage);
      document.removeEventListener("keydown", onKey, true);
      overlay.remove();
      if (current === handle) {
        current = null;
      }
      if (previousFocus && typeof previousFocus.focus === "function") {
        previousFocus.focus();
      }
    }

    function dismiss() {
      teardown();
      call(options.onClose);
    }

    function onMessage(event) {
      if (event.origin !== origin || event.source !== frame.contentWindow) {
        return; // another origin, or another frame: not the checkout's word
      }
      var data = event.data;
      if (!data || data.source !== "payguard") {
        return;
      }
      var result = { sessionId: data.sessionId, paymentId: data.paymentId, status: data.status };
      if (data.type === "payment.succeeded") {
        teardown();
        call(options.onSuccess, result);
      } else if (data.type === "payment.failed") {
        call(options.onFailure, result);
      } else if (data.type === "closed") {
        dismiss();
      }
    }

    function onKey(event) {
      if (event.key === "Escape") {
        event.preventDefault();
        dismiss();
      }
    }

    close.addEventListener("click", dismiss);
    window.addEventListener("message", onMessage);
    document.addEventListener("keydown", onKey, true);
    document.body.appendChild(overlay);
    frame.focus();

    var handle = { close: dismiss, frame: frame };
    current = handle;
    return handle;
  }

  window.PayGuardCheckout = { open: open };
})();
