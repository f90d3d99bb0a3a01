// The offline stand-in for Stripe's Customer Portal: each button sends a signed Stripe event to the webhook.
async function load() {
  const v = (await claw.api('/api/dashboard', 'GET')).body;
  claw.csrf = v.csrfToken;
  claw.$('plan-name').textContent = v.plan.displayName;
  document.querySelectorAll('button[data-action]').forEach(b => { b.disabled = !v.canManageBilling || b.dataset.action === v.plan.name; });
}
document.querySelectorAll('button[data-action]').forEach(button => button.addEventListener('click', async () => {
  claw.error('');
  const r = await claw.api('/api/dashboard/billing/offline', 'POST', { action: button.dataset.action });
  if (r.ok) location.href = r.body.redirect; else claw.error(claw.problem(r.body, 'The change was not made.'));
}));
load();
