/* The fake Razorpay's Checkout: the interface of Razorpay's checkout.js, paying through the fake's /_fake/pay.
 *
 * new Razorpay({key, order_id, handler, modal: {ondismiss}}).on("payment.failed", fn).open() shows a panel with
 * "Pay", "Fail" and "Close". Pay answers the handler with {razorpay_payment_id, razorpay_order_id,
 * razorpay_signature}, signed by the fake as Razorpay signs; Fail calls the payment.failed handlers with
 * {error: {code, description, reason}}; Close calls modal.ondismiss.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var origin = new URL(script ? script.src : location.href).origin;

  function pay(orderId, outcome) {
    return fetch(origin + "/_fake/pay", {
      method: "POST",
      headers: { "Content-Type": "text/plain" }, // a simple request: no preflight
      body: JSON.stringify({ order_id: orderId, outcome: outcome })
    }).then(function (response) {
      return response.json();
    });
  }

  function button(label, id) {
    var element = document.createElement("button");
    element.type = "button";
    element.id = id;
    element.textContent = label;
    element.style.setProperty("margin", "4px");
    return element;
  }

  function Razorpay(options) {
    this.options = options || {};
    this.failed = [];
  }

  Razorpay.prototype.on = function (event, callback) {
    if (event === "payment.failed") {
      this.failed.push(callback);
    }
    return this;
  };

  Razorpay.prototype.open = function () {
    var options = this.options;
    var failed = this.failed;
    var panel = document.createElement("div");
    panel.id = "fake-razorpay";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", "Fake Razorpay Checkout");
    ["position:fixed", "inset:auto 0 0 0", "padding:16px", "background:#fff", "border-top:2px solid #0b57d0"].forEach(
      function (rule) {
        var parts = rule.split(":");
        panel.style.setProperty(parts[0], parts.slice(1).join(":"));
      }
    );
    var title = document.createElement("p");
    title.textContent = "Fake Razorpay: order " + options.order_id;
    var payButton = button("Pay", "fake-razorpay-pay");
    var failButton = button("Fail", "fake-razorpay-fail");
    var closeButton = button("Close", "fake-razorpay-close");
    panel.appendChild(title);
    panel.appendChild(payButton);
    panel.appendChild(failButton);
    panel.appendChild(closeButton);
    document.body.appendChild(panel);

    payButton.addEventListener("click", function () {
      pay(options.order_id, "authorized").then(function (answer) {
        panel.remove();
        options.handler(answer);
      });
    });
    failButton.addEventListener("click", function () {
      pay(options.order_id, "failed").then(function (answer) {
        panel.remove();
        var error = {
          code: "BAD_REQUEST_ERROR",
          description: "Your payment was declined by the bank.",
          reason: "payment_failed",
          metadata: { order_id: options.order_id, payment_id: answer.razorpay_payment_id }
        };
        failed.forEach(function (callback) { callback({ error: error }); });
      });
    });
    closeButton.addEventListener("click", function () {
      panel.remove();
      if (options.modal && typeof options.modal.ondismiss === "function") {
        options.modal.ondismiss();
      }
    });
  };

  window.Razorpay = Razorpay;
})();
