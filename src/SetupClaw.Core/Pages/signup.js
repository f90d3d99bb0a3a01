claw.$('signup').addEventListener('submit', async e => {
  e.preventDefault();
  claw.error('');
  const body = Object.fromEntries(new FormData(e.target));
  const button = e.target.querySelector('button'); button.disabled = true;
  try {
    const r = await fetch('/api/signup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const j = await claw.json(r);
    if (!r.ok) { claw.error(claw.problem(j, 'Sign-up failed; please try again.')); return; }
    sessionStorage.setItem('statusToken:' + j.customerId, j.statusToken);
    location.href = j.checkoutUrl;
  } catch { claw.error('We could not reach SetupClaw; check your connection and try again.'); }
  finally { button.disabled = false; }
});
