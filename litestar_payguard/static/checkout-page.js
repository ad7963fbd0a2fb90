/* payguard's hosted checkout page. No dependencies; it talks to payguard's API only (and the gateway's checkout).
 *
 * The server's truth always wins: the page polls the session and shows what the server says (a timeout the
 * server recorded shows as one). The client secret comes from the URL's fragment, never sent to a server but in
 * the PayGuard-Client-Secret header.
 */
(function () {
  "use strict";

  var SECRET_HEADER = "PayGuard-Client-Secret";
  var LOST_POLL_MS = 1000;
  var REDIRECT_MS = 1500;
  var OPEN = { active: true, interrupted: true };
  var INTERRUPTED = {
    timeout: "The attempt timed out.",
    network: "The connection was lost during the attempt.",
    gateway: "The payment was declined.",
    unload: "The page was left during the attempt.",
    user: "The attempt was stopped."
  };
  var FINAL = {
    completed: "Paid. Thank you!",
    failed: "The payment failed.",
    expired: "This checkout has expired.",
    cancelled: "The payment was cancelled."
  };

  var config = JSON.parse(document.getElementById("payguard-config").textContent);
  var secret = "";
  try {
    secret = decodeURIComponent(location.hash.slice(1));
  } catch (error) {
    secret = "";
  }
  var base = config.api + "/sessions/" + encodeURIComponent(config.sessionId);
  var embedded = Boolean(config.embedOrigin) && window.parent !== window;

  var page = {
    session: null,
    skewMs: 0,
    paying: false, // the gateway's checkout is open: the customer is paying in this attempt
    lostAt: null, // when requests began to fail, or the browser said it was offline
    lostInAttempt: false,
    unloadSent: false,
    reported: null,
    pollTimer: null,
    timeUpPolled: false,
    busy: false, // an action (order, complete, resume, cancel, interrupt) is in flight
    epoch: 0 // bumped by every action: a poll sent before it answers about a past state
  };

  function $(id) {
    return document.getElementById(id);
  }

  function show(id, visible) {
    $(id).hidden = !visible;
  }

  function say(text, tone) {
    var status = $("status");
    if (status.textContent !== text) {
      status.textContent = text; // the aria-live region announces the change
    }
    if (tone) {
      status.setAttribute("data-tone", tone);
    } else {
      status.removeAttribute("data-tone");
    }
  }

  function serverNow() {
    return Date.now() + page.skewMs;
  }

  function noteServerTime(response) {
    var header = response.headers.get("Date");
    var at = header ? Date.parse(header) : NaN;
    if (!isNaN(at)) {
      var skew = at + 500 - Date.now(); // the header has whole seconds: its middle
      page.skewMs = Math.abs(skew) > 1500 ? skew : 0;
    }
  }

  function money(amount, currency) {
    var digits = typeof config.minorUnits === "number" ? config.minorUnits : 2;
    try {
      return new Intl.NumberFormat(undefined, {
        style: "currency",
        currency: currency,
        minimumFractionDigits: digits,
        maximumFractionDigits: digits
      }).format(amount / Math.pow(10, digits));
    } catch (error) {
      return (amount / Math.pow(10, digits)).toFixed(digits) + " " + currency;
    }
  }

  function randomReference(prefix) {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return prefix + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  /* One call to the API: resolves {ok, status, data}; rejects only when the server could not be reached. */
  function api(method, path, body, keepalive) {
    var headers = { Accept: "application/json" };
    headers[SECRET_HEADER] = secret;
    var init = { method: method, headers: headers, cache: "no-store", credentials: "omit", keepalive: Boolean(keepalive) };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(base + path, init).then(function (response) {
      noteServerTime(response);
      return response.json().then(
        function (data) { return { ok: response.ok, status: response.status, data: data }; },
        function () { return { ok: response.ok, status: response.status, data: null }; }
      );
    });
  }

  function attemptRunning() {
    var session = page.session;
    return Boolean(session) && session.status === "active" && session.payment.status !== "processing";
  }

  function lost() {
    if (page.lostAt === null) {
      page.lostAt = serverNow();
      page.lostInAttempt = attemptRunning();
      say("The connection was lost. Reconnecting…", "bad");
    }
    schedule(LOST_POLL_MS);
  }

  /* The server answered again: a loss during a running attempt is recorded as a network interruption. */
  function reached(result) {
    if (page.lostAt === null) {
      return Promise.resolve(result);
    }
    var seconds = Math.max(1, Math.round((serverNow() - page.lostAt) / 1000));
    var during = page.lostInAttempt;
    page.lostAt = null;
    page.lostInAttempt = false;
    var session = result.ok ? result.data : null;
    if (!during || !session || session.status !== "active" || session.payment.status === "processing") {
      return Promise.resolve(result);
    }
    page.paying = false;
    var detail = "offline for about " + seconds + " s";
    return api("POST", "/interrupt", { kind: "network", detail: detail }).then(function (interrupted) {
      return interrupted.ok ? interrupted : api("GET", "");
    });
  }

  function schedule(ms) {
    clearTimeout(page.pollTimer);
    page.pollTimer = setTimeout(poll, ms);
  }

  function poll() {
    clearTimeout(page.pollTimer);
    var sentAt = page.epoch;
    return api("GET", "").then(function (result) {
      if (sentAt !== page.epoch || page.busy) {
        schedule(page.session ? page.session.pollIntervalMs : LOST_POLL_MS); // stale: an action moved on since
        return;
      }
      return reached(result).then(answer);
    }, lost);
  }

  /* Show an answer of the API: a session, or a problem (then the session as the server has it now). */
  function answer(result) {
    if (result.ok && result.data && result.data.id) {
      render(result.data);
      return;
    }
    if (result.status === 404) {
      notFound();
      return;
    }
    var problem = result.data || {};
    say(problem.detail || problem.title || "Something went wrong (" + result.status + ").", "bad");
    schedule(page.session ? page.session.pollIntervalMs : LOST_POLL_MS);
  }

  function notFound() {
    $("checkout").setAttribute("aria-busy", "false");
    $("amount").textContent = "Checkout not found";
    ["meta", "pay", "retry", "cancel", "test-gateway", "continue"].forEach(function (id) { show(id, false); });
    show("close", embedded);
    say("This checkout link is not valid, or it has ended.", "bad");
  }

  /* The way out of a session that has ended: the merchant's return page. */
  function wayOut(session) {
    var target = session.status === "completed" ? session.successUrl : session.cancelUrl;
    var link = $("continue");
    if (target && !embedded) {
      link.href = target;
      link.textContent = session.status === "completed" ? "Continue" : "Back to the shop";
      show("continue", true);
    } else {
      show("continue", false);
    }
    show("close", embedded);
    return target;
  }

  function report(session) {
    if (!embedded || page.reported === session.status) {
      return;
    }
    page.reported = session.status;
    var type = session.status === "completed" ? "payment.succeeded" : "payment.failed";
    post(type, session);
  }

  function post(type, session) {
    if (!embedded) {
      return;
    }
    window.parent.postMessage(
      {
        source: "payguard",
        type: type,
        sessionId: config.sessionId,
        paymentId: session ? session.payment.id : null,
        status: session ? session.status : null
      },
      config.embedOrigin
    );
  }

  function renderFinal(session) {
    page.paying = false;
    var text = FINAL[session.status] || session.status;
    if (session.status === "failed") {
      text += " All " + session.maxAttempts + " attempts were used.";
    }
    say(text, session.status === "completed" ? "good" : "bad");
    ["pay", "retry", "cancel", "test-gateway"].forEach(function (id) { show(id, false); });
    var target = wayOut(session);
    report(session);
    if (session.status === "completed" && target && !embedded) {
      setTimeout(function () { location.assign(target); }, REDIRECT_MS);
    }
  }

  function renderOpen(session) {
    var processing = session.payment.status === "processing";
    show("cancel", !processing);
    show("continue", false);
    show("close", false);
    if (processing) {
      say("Confirming your payment…");
      ["pay", "retry", "test-gateway"].forEach(function (id) { show(id, false); });
    } else if (session.status === "active") {
      page.unloadSent = false;
      show("retry", false);
      show("pay", !page.paying && !page.busy);
      show("test-gateway", page.paying && !config.checkout && config.testMode);
      if (page.lostAt === null) {
        say(page.paying ? "Paying… Do not close this page." : "");
      }
    } else {
      page.paying = false;
      ["pay", "test-gateway"].forEach(function (id) { show(id, false); });
      var cause = session.lastInterruption ? INTERRUPTED[session.lastInterruption.kind] : "";
      if (session.lastInterruption && session.lastInterruption.kind === "gateway" && session.lastInterruption.detail) {
        cause = "The payment was declined: " + session.lastInterruption.detail;
      }
      if (session.attempt >= session.maxAttempts) {
        cause += " That was the last of " + session.maxAttempts + " attempts.";
      }
      if (page.lostAt === null) {
        say(cause, "bad");
      }
      show("retry", true);
    }
  }

  function render(session) {
    var first = page.session === null;
    var attemptChanged = !first && page.session.attempt !== session.attempt;
    page.session = session;
    if (attemptChanged) {
      page.timeUpPolled = false;
    }
    $("checkout").setAttribute("aria-busy", "false");
    $("merchant").textContent = config.merchantName ? "Pay " + config.merchantName : "";
    $("amount").textContent = money(session.payment.amount, session.payment.currency);
    $("plan").textContent = session.planName || session.bundleId;
    $("attempt").textContent = "Attempt " + session.attempt + " of " + session.maxAttempts;
    show("meta", true);
    if (OPEN[session.status]) {
      renderOpen(session);
      schedule(session.pollIntervalMs);
    } else {
      renderFinal(session);
    }
    tick();
  }

  /* The countdown to the attempt's deadline, and the Retry button's wait; once a second. */
  function tick() {
    var session = page.session;
    var countdown = $("countdown");
    if (!session) {
      return;
    }
    var now = serverNow();
    if (session.status === "active" && session.payment.status !== "processing") {
      var left = Math.max(0, Math.ceil((Date.parse(session.attemptDeadline) - now) / 1000));
      countdown.textContent = left > 0 ? "Time left " + Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2) : "Time is up";
      if (left === 0 && !page.timeUpPolled) {
        page.timeUpPolled = true;
        poll(); // the server records the timeout
      }
    } else {
      countdown.textContent = "";
    }
    var retry = $("retry");
    if (session.status === "interrupted" && session.retryAt) {
      var wait = Math.ceil((Date.parse(session.retryAt) - now) / 1000);
      retry.disabled = wait > 0 || page.busy;
      retry.textContent = wait > 0 ? "Retry in " + wait + " s" : "Retry";
    } else {
      retry.disabled = page.busy;
      retry.textContent = "Retry";
    }
  }

  /* One action at a time; its answer is the state to show, whatever polls sent before it say. */
  function act(method, path, body) {
    page.busy = true;
    page.epoch += 1;
    return api(method, path, body).then(reached).then(
      function (result) {
        page.busy = false;
        answer(result);
      },
      function () {
        page.busy = false;
        lost();
      }
    );
  }

  function pay() {
    if (page.busy) {
      return;
    }
    show("pay", false);
    page.busy = true;
    page.epoch += 1;
    api("POST", "/order").then(function (result) {
      page.busy = false;
      if (!result.ok) {
        answer(result);
        return;
      }
      if (!config.checkout && !config.testMode) {
        say("This payment cannot be paid on this page.", "bad");
        return;
      }
      page.paying = true;
      if (config.checkout) {
        openGateway(result.data);
      } else {
        show("test-gateway", true);
        say("Paying… Do not close this page.");
        $("test-succeed").focus();
      }
    }, function () {
      page.busy = false;
      lost();
    });
  }

  function complete(reference, signature) {
    if (page.busy) {
      return Promise.resolve();
    }
    var body = { gatewayPaymentId: reference };
    if (signature) {
      body.signature = signature;
    }
    show("test-gateway", false);
    return act("POST", "/complete", body);
  }

  function loadScript(url) {
    return new Promise(function (resolve, reject) {
      if (window.Razorpay) {
        resolve();
        return;
      }
      var script = document.createElement("script");
      script.src = url;
      script.onload = function () { resolve(); };
      script.onerror = function () { reject(new Error("the gateway's checkout did not load")); };
      document.head.appendChild(script);
    });
  }

  /* Razorpay Checkout for the session's order; its result goes to `complete`, a failure or a dismissal ends the attempt. */
  function openGateway(order) {
    loadScript(config.checkout.scriptUrl).then(function () {
      var checkout = new window.Razorpay({
        key: config.checkout.keyId,
        order_id: order.gatewayOrderId,
        amount: order.amount,
        currency: order.currency,
        name: config.merchantName || undefined,
        description: page.session ? page.session.planName || page.session.bundleId : undefined,
        handler: function (response) {
          page.paying = false;
          complete(response.razorpay_payment_id, response.razorpay_signature);
        },
        modal: {
          ondismiss: function () {
            if (page.paying) {
              page.paying = false;
              act("POST", "/interrupt", { kind: "user", detail: "closed the gateway's checkout" });
            }
          }
        }
      });
      checkout.on("payment.failed", function (response) {
        var error = (response && response.error) || {};
        page.paying = false;
        act("POST", "/interrupt", { kind: "gateway", detail: String(error.description || error.reason || "declined").slice(0, 500) });
      });
      checkout.open();
    }, function (error) {
      page.paying = false;
      act("POST", "/interrupt", { kind: "gateway", detail: error.message });
    });
  }

  function leaving() {
    if (!page.paying || page.unloadSent || !attemptRunning()) {
      return;
    }
    page.unloadSent = true;
    page.paying = false;
    api("POST", "/interrupt", { kind: "unload", detail: "the customer left the page" }, true).catch(function () {});
  }

  function bind() {
    $("pay").addEventListener("click", pay);
    $("test-succeed").addEventListener("click", function () { complete(randomReference("sim_pay_")); });
    $("test-decline").addEventListener("click", function () { complete(randomReference("sim_decline_")); });
    $("retry").addEventListener("click", function () {
      if (page.busy) {
        return;
      }
      $("retry").disabled = true;
      act("POST", "/resume");
    });
    $("cancel").addEventListener("click", function () {
      page.paying = false;
      act("POST", "/cancel").then(function () {
        var session = page.session;
        if (session && session.status === "cancelled" && session.cancelUrl && !embedded) {
          location.assign(session.cancelUrl);
        }
      });
    });
    $("close").addEventListener("click", function () { post("closed", page.session); });
    window.addEventListener("beforeunload", function (event) {
      if (page.paying || (page.session && page.session.payment.status === "processing" && OPEN[page.session.status])) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
    // Leaving is pagehide only: a hidden tab may be the customer in their bank's app or reading an OTP, with the
    // gateway's window still open; a page the browser discards while hidden times out on the server instead.
    window.addEventListener("pagehide", leaving);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        poll();
      }
    });
    window.addEventListener("offline", lost);
    window.addEventListener("online", function () { poll(); });
    setInterval(tick, 1000);
  }

  bind();
  if (!secret) {
    notFound();
  } else {
    poll();
  }
})();
