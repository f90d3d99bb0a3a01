// The offline stand-in for Stripe's Customer Portal: each button sends a signed Stripe event to the webhook.
let csrf = '';
async function load() {
  const r = await fetch('/api/dashboard', { credentials: 'same-origin' });
  if (r.status === 401) { location.href = '/dashboard/sign-in'; return; }
  const v = await claw.json(r);
  csrf = v.csrfToken;
  claw.$('plan-name').textContent = v.plan.displayName;
  document.querySelectorAll('button[data-action]').forEach(b => { b.disabled = !v.canManageBilling || b.dataset.action === v.plan.name; });
}
document.querySelectorAll('button[data-action]').forEach(button => button.addEventListener('click', async () => {
  claw.error('');
  const r = await fetch('/api/dashboard/billing/offline', { method: 'POST', credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ action: button.dataset.action }) });
  const j = await claw.json(r);
  if (r.ok) location.href = j.redirect; else claw.error(claw.problem(j, 'The change was not made.'));
}));
load();
