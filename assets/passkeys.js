// Passkeys: the browser's half of a WebAuthn ceremony the page began on the server (pages/passkey_widgets.py).
// The page calls window.smpPasskeys.register() or .authenticate() (fixed names, no data in the call). The options
// come from the portal (POST /passkeys/options, for this tab's open ceremony), the authenticator's answer goes back
// to the portal (POST /passkeys/verify); the page hears only how it ended: 'ok', 'cancelled', 'failed', 'expired',
// 'exists', 'unsupported' or 'error', and asks the server itself what was proved.
(() => {
  if (window.smpPasskeys) return;
  const toBuffer = (text) => {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer;
  };
  const toText = (buffer) => {
    let binary = '';
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };
  const post = async (path, body) => {
    const response = await fetch(path, {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: {'Content-Type': 'application/json', 'X-SMP-Passkey': '1'},
      body: JSON.stringify(body),
    });
    let answer = {};
    try { answer = await response.json(); } catch (e) { answer = {}; }
    if (!response.ok) {
      const error = new Error('refused');
      error.code = typeof answer.code === 'string' ? answer.code : 'error';
      throw error;
    }
    return answer;
  };
  const asJSON = (credential) => {
    const r = credential.response;
    const json = {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: {clientDataJSON: toText(r.clientDataJSON)},
    };
    if (r.attestationObject) {
      json.response.attestationObject = toText(r.attestationObject);
      json.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(r.authenticatorData);
      json.response.signature = toText(r.signature);
      json.response.userHandle = r.userHandle ? toText(r.userHandle) : null;
    }
    return json;
  };
  const run = async (purpose) => {
    if (!window.PublicKeyCredential || !navigator.credentials || !window.isSecureContext) return 'unsupported';
    try {
      const options = await post('/passkeys/options', {client: window.clientId});
      if (options.purpose !== purpose) return 'expired';
      const publicKey = options.publicKey;
      publicKey.challenge = toBuffer(publicKey.challenge);
      let credential;
      if (purpose === 'register') {
        publicKey.user.id = toBuffer(publicKey.user.id);
        (publicKey.excludeCredentials || []).forEach((c) => { c.id = toBuffer(c.id); });
        credential = await navigator.credentials.create({publicKey});
      } else {
        (publicKey.allowCredentials || []).forEach((c) => { c.id = toBuffer(c.id); });
        credential = await navigator.credentials.get({publicKey});
      }
      if (!credential) return 'cancelled';
      const result = await post('/passkeys/verify', {client: window.clientId, credential: asJSON(credential)});
      return result.ok ? 'ok' : (result.code || 'failed');
    } catch (error) {
      if (error && error.name === 'NotAllowedError') return 'cancelled';
      if (error && error.name === 'AbortError') return 'cancelled';
      if (error && error.name === 'InvalidStateError') return 'exists';
      if (error && error.code) return error.code;
      return 'error';
    }
  };
  window.smpPasskeys = {register: () => run('register'), authenticate: () => run('authenticate')};
})();
