// The dashboard: everything from GET /api/dashboard; every change sends the session's CSRF token (claw.api).
const api = claw.api;
let refresh = null;

function renderSkills(skills) {
  claw.show('skills-none', skills.length === 0);
  claw.$('skills').replaceChildren(...skills.map(skill => {
    const li = document.createElement('li');
    const label = document.createElement('label'); label.htmlFor = 'skill-' + skill.name; label.textContent = skill.name; label.style.margin = '0';
    const right = document.createElement('span');
    if (skill.included) {
      const box = document.createElement('input'); box.type = 'checkbox'; box.id = 'skill-' + skill.name; box.checked = skill.enabled;
      box.setAttribute('role', 'switch'); box.style.width = 'auto'; box.dataset.skill = skill.name;
      box.addEventListener('change', async () => {
        box.disabled = true; claw.error('');
        const r = await api('/api/dashboard/skills/' + encodeURIComponent(skill.name), 'POST', { enabled: box.checked });
        if (!r.ok) { box.checked = !box.checked; claw.error(claw.problem(r.body, 'The skill could not be changed.')); }
        box.disabled = false;
      });
      right.append(box);
    } else {
      right.className = 'muted small'; right.textContent = 'on the ' + skill.availableOn + ' plan';
    }
    li.append(label, right);
    return li;
  }));
}

async function load() {
  const r = await api('/api/dashboard', 'GET');
  if (!r.ok) { claw.error(claw.problem(r.body, 'The dashboard could not be loaded.')); return; }
  const v = r.body;
  claw.csrf = v.csrfToken;
  claw.$('assistant-name').textContent = v.assistantName;
  const badge = claw.$('state-badge'); badge.className = 'badge ' + v.state.code; badge.textContent = v.state.title;
  claw.$('state-detail').textContent = v.state.detail;
  claw.$('plan-name').textContent = v.plan.displayName;
  claw.$('plan-pending').textContent = v.pendingPlan ? '(changing to ' + v.pendingPlan + '…)' : '';
  claw.$('usage').textContent = v.usage ? v.usage.text : 'Usage is shown while your assistant exists.';
  const meter = claw.$('usage-meter');
  meter.setAttribute('aria-valuemax', v.usage ? v.usage.limit : 0); meter.setAttribute('aria-valuenow', v.usage ? v.usage.used : 0);
  meter.firstElementChild.style.width = v.usage && v.usage.limit ? Math.min(100, 100 * v.usage.used / v.usage.limit) + '%' : '0';
  claw.show('access-block', !!v.accessUrl);
  claw.$('access-url').textContent = v.accessUrl || '';
  claw.$('key-hint').textContent = v.apiKeyHint || '—';
  claw.show('rotate-key', v.canRotateKey);
  claw.show('manage-billing', v.canManageBilling);
  claw.show('download', v.canDownload);
  claw.$('data-note').textContent = v.dataKeptUntil
    ? 'Your archive (workspace files, memories, conversations) is kept until ' + new Date(v.dataKeptUntil).toUTCString().slice(5, 16) + '. Download it as a .zip.'
    : (v.canDownload ? 'Workspace files, memories and conversations, as a .zip.' : 'There is no data to download.');
  renderSkills(v.skills);
  claw.wireCopy();
  clearTimeout(refresh);
  if (['provisioning', 'stopping'].includes(v.state.code) || v.pendingPlan) refresh = setTimeout(load, 2000);
}

claw.$('rotate-key').addEventListener('click', () => { claw.show('rotate-confirm', true); claw.show('rotate-key', false); });
claw.$('rotate-no').addEventListener('click', () => { claw.show('rotate-confirm', false); claw.show('rotate-key', true); });
claw.$('rotate-yes').addEventListener('click', async () => {
  claw.error('');
  const r = await api('/api/dashboard/api-key', 'POST', {});
  claw.show('rotate-confirm', false);
  if (!r.ok) { claw.error(claw.problem(r.body, 'The key could not be rotated.')); claw.show('rotate-key', true); return; }
  claw.$('new-key').textContent = r.body.apiKey;
  claw.$('key-hint').textContent = r.body.apiKeyHint;
  claw.show('new-key-block', true);
  claw.show('rotate-key', true);
  claw.wireCopy();
});
claw.$('manage-billing').addEventListener('click', async () => {
  claw.error('');
  const r = await api('/api/dashboard/billing', 'POST', {});
  if (r.ok) location.href = r.body.url; else claw.error(claw.problem(r.body, 'Billing could not be opened.'));
});
claw.$('sign-out').addEventListener('click', async () => { await api('/api/dashboard/sign-out', 'POST', {}); location.href = '/dashboard/sign-in'; });
load();
