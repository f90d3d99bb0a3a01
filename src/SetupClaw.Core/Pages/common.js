// Shared by every SetupClaw page (served by SetupClaw; no external scripts). Text is always set with textContent.
const claw = {
  $: id => document.getElementById(id),
  show(id, visible) { const el = claw.$(id); if (el) el.hidden = !visible; },
  error(message) { const el = claw.$('error'); if (el) el.textContent = message || ''; },
  async json(response) { try { return await response.json(); } catch { return {}; } },
  problem(body, fallback) { return (body && (body.detail || body.title)) || fallback; },
  // The signed-in pages' calls: the session cookie, and the CSRF token from GET /api/dashboard on every change.
  csrf: '',
  async api(path, method, body) {
    const r = await fetch(path, { method, credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': claw.csrf }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (r.status === 401) { location.href = '/dashboard/sign-in'; throw new Error('signed out'); }
    return { ok: r.ok, body: await claw.json(r) };
  },
  seconds(s) { return s == null ? '' : (s < 10 ? s.toFixed(1) : Math.round(s)) + ' s'; },
  // Copy buttons: data-copy names the element whose text is copied.
  wireCopy() {
    document.querySelectorAll('button[data-copy]').forEach(button => {
      if (button.dataset.wired) return;
      button.dataset.wired = '1';
      button.addEventListener('click', async () => {
        const text = claw.$(button.dataset.copy).textContent;
        try { await navigator.clipboard.writeText(text); }
        catch {
          const range = document.createRange(); range.selectNodeContents(claw.$(button.dataset.copy));
          const selection = getSelection(); selection.removeAllRanges(); selection.addRange(range); document.execCommand('copy');
        }
        button.textContent = 'Copied';
      });
    });
  },
};
