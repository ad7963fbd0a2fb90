/* The demo shop's pay page: open the checkout in payguard's modal; paid, go to the orders. */
(function () {
  "use strict";
  var button = document.getElementById("pay");
  var status = document.getElementById("pay-status");
  button.addEventListener("click", function () {
    PayGuardCheckout.open({
      checkoutUrl: button.getAttribute("data-checkout-url"),
      onSuccess: function (result) {
        status.textContent = "Paid. Your order is on its way.";
        location.assign("/orders?paid=" + encodeURIComponent(result.sessionId));
      },
      onFailure: function (result) {
        status.textContent = "The payment did not go through (" + result.status + ").";
      },
      onClose: function () {
        status.textContent = "The checkout is closed: pay now to open it again.";
      }
    });
  });
})();
