// Sign-in: the emailed link carries its token in the fragment (never sent to a server log); one click uses it, once.
const token = new URLSearchParams(location.hash.slice(1)).get('token');
if (token) { history.replaceState(null, '', location.pathname); claw.show('redeem', true); claw.show('request', false); }
claw.$('redeem').addEventListener('submit', async e => {
  e.preventDefault(); claw.error('');
  const r = await fetch('/api/dashboard/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  if (r.ok) { location.href = '/dashboard'; return; }
  claw.error(claw.problem(await claw.json(r), 'This link did not work.'));
  claw.show('redeem', false); claw.show('request', true);
});
claw.$('request').addEventListener('submit', async e => {
  e.preventDefault(); claw.error('');
  const r = await fetch('/api/dashboard/sign-in-link', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: claw.$('email').value }) });
  const j = await claw.json(r);
  if (!r.ok) { claw.error(claw.problem(j, 'The link could not be sent.')); return; }
  claw.$('message').textContent = j.message; claw.show('message', true);
});
