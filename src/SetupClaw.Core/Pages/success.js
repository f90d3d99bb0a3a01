// The success page: polls the status with the sign-up's status token (kept in sessionStorage, so a reload keeps working).
const id = decodeURIComponent(location.pathname.split('/').pop());
const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromHash) { sessionStorage.setItem('statusToken:' + id, fromHash); history.replaceState(null, '', location.pathname); }
const token = sessionStorage.getItem('statusToken:' + id);
const words = { completed: 'done', running: 'running…', failed: 'failed', pending: 'waiting', skipped: 'skipped', compensated: 'undone' };
const marks = { completed: '\u2713', running: '\u2026', failed: '\u00d7' };

function renderSteps(steps) {
  const list = claw.$('steps');
  list.replaceChildren(...steps.map(step => {
    const li = document.createElement('li'); li.className = step.status; li.dataset.step = step.name;
    const name = document.createElement('span');
    const mark = document.createElement('span'); mark.className = 'mark'; mark.setAttribute('aria-hidden', 'true'); mark.textContent = marks[step.status] || '\u00b7';
    name.append(mark, ' ' + step.label);
    const state = document.createElement('span'); state.className = 'muted small state';
    state.textContent = (words[step.status] || step.status) + (step.durationSeconds != null ? ' \u00b7 ' + claw.seconds(step.durationSeconds) : '');
    li.append(name, state);
    return li;
  }));
}

async function openDashboard() {
  claw.error('');
  const r = await fetch('/api/dashboard/session', { method: 'POST', headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
    body: JSON.stringify({ customerId: id }) });
  if (r.ok) { location.href = '/dashboard'; return; }
  const j = await claw.json(r);
  claw.error(claw.problem(j, 'The dashboard could not be opened.') + ' ');
  const link = document.createElement('a'); link.href = '/dashboard/sign-in'; link.textContent = 'Sign in with an emailed link';
  claw.$('error').append(link);
}

async function poll() {
  let r;
  try { r = await fetch('/api/provisioning/' + encodeURIComponent(id), { headers: { authorization: 'Bearer ' + token } }); }
  catch { claw.$('state').textContent = 'Connection lost; retrying…'; setTimeout(poll, 2000); return; }
  const s = await claw.json(r);
  if (!r.ok) { claw.$('state').textContent = claw.problem(s, 'The status could not be read.'); return; }
  claw.$('elapsed').textContent = s.elapsedSeconds != null ? '(' + claw.seconds(s.elapsedSeconds) + ')' : '';
  renderSteps(s.steps || []);
  if (s.status === 'active') {
    claw.$('title').textContent = 'Your assistant is ready';
    claw.$('state').textContent = 'Ready' + (s.elapsedSeconds != null ? ' in ' + claw.seconds(s.elapsedSeconds) : '') + '.';
    claw.$('access-url').textContent = s.accessUrl || '';
    claw.show('key-block', !!s.apiKey);
    claw.show('key-hint-block', !s.apiKey);
    if (s.apiKey) claw.$('api-key').textContent = s.apiKey; else claw.$('key-hint').textContent = s.apiKeyHint || '';
    claw.show('ready', true);
    claw.wireCopy();
    return;
  }
  if (s.status === 'failed') {
    claw.$('title').textContent = 'Setup did not finish';
    claw.$('state').textContent = '';
    claw.$('failure').textContent = s.error;
    claw.show('failed', true);
    return;
  }
  claw.$('state').textContent = s.notice || (s.status === 'pending' ? 'Waiting for the payment confirmation.' : 'Setting up: ' + (s.steps.find(x => x.status === 'running')?.label || 'starting') + '.');
  setTimeout(poll, 1000);
}

claw.$('open-dashboard').addEventListener('click', openDashboard);
claw.$('open-dashboard-failed').addEventListener('click', openDashboard);
if (!token) {
  claw.$('state').textContent = 'This page needs the link from your sign-up in this browser. ';
  const link = document.createElement('a'); link.href = '/dashboard/sign-in'; link.textContent = 'Sign in to your dashboard instead';
  claw.$('state').append(link);
} else {
  poll();
}
