// Security keys and passkeys (templates/mfa/webauthn/snippets/key_form.html):
// allauth's WebAuthn scripts do the browser's ceremony; this starts them from the
// button's data attributes instead of allauth's inline start-up block (the
// templates hold no inline script), and says so in the page when a key fails.
//   <button id=… data-webauthn="add|authenticate" data-credential="id_credential"
//           data-options="js_data" [data-passwordless="id_passwordless"]>
(function () {
  "use strict";
  var forms = window.allauth && window.allauth.webauthn && window.allauth.webauthn.forms;
  if (!forms) return;

  document.querySelectorAll("[data-webauthn]").forEach(function (button) {
    var ids = { credential: button.dataset.credential, data: button.dataset.options };
    if (button.dataset.webauthn === "add") {
      ids.add = button.id;
      ids.passwordless = button.dataset.passwordless;
      forms.addForm({ ids: ids });
    } else {
      ids.authenticate = button.id;
      forms.authenticateForm({ ids: ids });
    }
  });

  document.addEventListener("allauth.error", function (event) {
    var box = document.getElementById("webauthn-error");
    if (!box) return;
    event.preventDefault();
    box.textContent = "The key did not answer: the request was cancelled or timed out, " +
      "or the key is not one of yours here. Try again.";
    box.hidden = false;
  });
})();
