/* The isolation pledge signed on the staff member's screen (door visit, step 3).
 *
 * Progressive enhancement: without this script the page shows only the photo upload, which
 * works by itself. With it, staff choose "sign on the screen" or "photo of the paper"; the person
 * signs on the canvas with a finger (pointer events: touch, pen and mouse alike), and on submit
 * the canvas goes into the hidden field as a PNG data URL. Only one of the two is ever sent:
 * choosing the signature empties the file input, choosing the photo leaves the field empty.
 * The server checks the drawing (services.clean_signature), a blank pad included.
 */
(function () {
  "use strict";

  var INK = "#111";
  var LINE_WIDTH = 6; // in canvas pixels (the canvas is 800x400, shown at the screen's width)

  function setup(box) {
    var form = box.closest("form");
    var modes = box.querySelector(".pledge-modes");
    var pad = box.querySelector(".pledge-pad");
    var photoBox = box.querySelector(".pledge-photo");
    var canvas = pad && pad.querySelector("canvas");
    if (!form || !modes || !pad || !photoBox || !canvas || !canvas.getContext) {
      return; // an old browser: the photo upload stays
    }
    var photo = photoBox.querySelector("input[type=file]");
    var field = pad.querySelector("input[type=hidden]");
    var clear = pad.querySelector("#signature-clear");
    var ctx = canvas.getContext("2d");
    var pointer = null; // the id of the pointer drawing now
    var last = null;

    function mode() {
      var checked = modes.querySelector("input:checked");
      return checked ? checked.value : "signature";
    }

    function show(value) {
      pad.hidden = value !== "signature";
      photoBox.hidden = value !== "photo";
      if (value === "signature" && photo) {
        photo.value = "";
      }
    }

    function at(event) {
      var rect = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - rect.left) * canvas.width / rect.width,
        y: (event.clientY - rect.top) * canvas.height / rect.height
      };
    }

    function line(from, to) {
      ctx.beginPath();
      ctx.moveTo(from.x, from.y);
      ctx.lineTo(to.x, to.y);
      ctx.stroke();
    }

    function start(event) {
      if (pointer !== null || (event.pointerType === "mouse" && event.button !== 0)) {
        return;
      }
      event.preventDefault();
      pointer = event.pointerId;
      if (canvas.setPointerCapture) {
        canvas.setPointerCapture(event.pointerId);
      }
      last = at(event);
      line(last, { x: last.x + 0.1, y: last.y + 0.1 }); // a dot, so a tap leaves a mark
      canvas.dataset.inked = "1";
    }

    function move(event) {
      if (event.pointerId !== pointer) {
        return;
      }
      event.preventDefault();
      // Fast strokes on a phone arrive coalesced; drawing each keeps the curve smooth.
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      if (!events.length) {
        events = [event];
      }
      for (var i = 0; i < events.length; i++) {
        var point = at(events[i]);
        line(last, point);
        last = point;
      }
    }

    function end(event) {
      if (event.pointerId === pointer) {
        pointer = null;
        last = null;
      }
    }

    function reset() {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      delete canvas.dataset.inked;
      field.value = "";
    }

    ctx.strokeStyle = INK;
    ctx.fillStyle = INK;
    ctx.lineWidth = LINE_WIDTH;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";

    canvas.addEventListener("pointerdown", start);
    canvas.addEventListener("pointermove", move);
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("lostpointercapture", end);
    if (clear) {
      clear.addEventListener("click", reset);
    }

    // A form sent back for another reason (a box not ticked) brings the signature back.
    if (field.value.indexOf("data:image/png;base64,") === 0) {
      var previous = new Image();
      previous.onload = function () {
        ctx.drawImage(previous, 0, 0, canvas.width, canvas.height);
        canvas.dataset.inked = "1";
      };
      previous.src = field.value;
    } else {
      field.value = "";
    }

    var initial = box.getAttribute("data-mode") === "photo" ? "photo" : "signature";
    var radio = modes.querySelector("input[value=" + initial + "]");
    if (radio) {
      radio.checked = true;
    }
    modes.addEventListener("change", function () {
      show(mode());
    });
    modes.hidden = false;
    show(initial);

    form.addEventListener("submit", function () {
      if (mode() === "signature") {
        // Sent even when blank, so the server says the pad is empty rather than "nothing given".
        field.value = canvas.toDataURL("image/png");
        if (photo) {
          photo.value = "";
        }
      } else {
        field.value = "";
      }
    });
  }

  function init() {
    var boxes = document.querySelectorAll("fieldset.pledge");
    for (var i = 0; i < boxes.length; i++) {
      setup(boxes[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
