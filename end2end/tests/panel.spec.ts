import { Page } from '@playwright/test';
import { test, expect, watchCsp, createBooking } from './support';

// One story, in order: the installation starts empty.
test.describe.configure({ mode: 'serial' });

const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery';

async function waitForHydration(page: Page) {
  // The WASM bundle marks the document once hydrated; interactions before that would be lost.
  await page.waitForFunction(() => (window as any).__bookhook_hydrated === true);
}

test('the first visit creates the first admin account', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole('heading', { name: 'Create the first admin account' })).toBeVisible();
  await waitForHydration(page);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  // The browser's own minlength check, or the server's message, keeps us on the form.
  await expect(page).toHaveURL(/\/setup$/);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/apps\/demo\/bookings$/);
  await expect(page.getByRole('heading', { name: 'Bookings', exact: true })).toBeVisible();
  await expect(page.locator('.app-switcher')).toContainText('Demo');
});

test('signing out and in again; wrong credentials get one message', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  await waitForHydration(page);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Incorrect email or password.');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/apps\/demo\/bookings$/);

  await page.getByLabel('Profile').click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/apps/demo/settings');
  await expect(page).toHaveURL(/\/login$/);
});

async function signIn(page: Page) {
  await page.goto('/login');
  await waitForHydration(page);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/apps\/demo\/bookings$/);
  await waitForHydration(page);
}

test('Developer Mode shows the Webhooks tab without a reload and stays on', async ({ page }) => {
  await signIn(page);
  const nav = page.getByRole('navigation', { name: 'Sections' });
  await expect(nav.getByRole('link', { name: 'Bookings' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Webhooks' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'Delivery log' })).toHaveCount(0);

  // The URL still answers, and explains how to turn Developer Mode on.
  await page.goto('/apps/demo/webhooks');
  await expect(page.getByRole('heading', { name: 'Developer Mode is off' })).toBeVisible();
  await waitForHydration(page);

  await page.goto('/apps/demo/bookings');
  await waitForHydration(page);
  let loads = 0;
  page.on('load', () => loads++);
  await page.getByLabel('Profile').click();
  const toggle = page.getByRole('switch', { name: 'Developer Mode' });
  await expect(toggle).not.toBeChecked();
  await toggle.check({ force: true });
  await expect(nav.getByRole('link', { name: 'Webhooks' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Delivery log' })).toBeVisible();
  expect(loads).toBe(0);

  await nav.getByRole('link', { name: 'Webhooks' }).click();
  await expect(page.getByRole('heading', { name: 'No webhooks yet' })).toBeVisible();

  await page.reload();
  await expect(nav.getByRole('link', { name: 'Webhooks' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'No webhooks yet' })).toBeVisible();
});

test('an API key is shown once and can be revoked', async ({ page }) => {
  await signIn(page);
  await page.goto('/apps/demo/settings');
  await waitForHydration(page);
  await page.getByLabel('Label').fill('booking widget');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const key = page.getByTestId('new-api-key');
  await expect(key).toHaveText(/^test_api_key_[A-Za-z0-9]{32}$/);
  const full = (await key.textContent())!;
  const row = page.locator('tr', { hasText: 'booking widget' });
  await expect(row).toContainText('active');
  await expect(row).toContainText(full.slice(-4));

  await page.reload();
  await expect(page.getByTestId('new-api-key')).toHaveCount(0);
  await expect(page.locator('body')).not.toContainText(full);

  await waitForHydration(page);
  page.once('dialog', (d) => d.accept());
  await page.locator('tr', { hasText: 'booking widget' }).getByRole('button', { name: 'Revoke' }).click();
  await expect(page.locator('tr', { hasText: 'booking widget' })).toContainText('revoked');
});

test('a second app appears in the switcher', async ({ page }) => {
  await signIn(page);
  await page.goto('/apps/demo/settings');
  await waitForHydration(page);
  await page.locator('#new-app').getByLabel('Name').fill('Yoga Studio');
  await page.getByRole('button', { name: 'Create app' }).click();
  await expect(page).toHaveURL(/\/apps\/yoga-studio\/settings$/);
  await page.getByLabel('Switch app').click();
  await page.locator('.app-switcher .menu').getByRole('link', { name: /Demo/ }).click();
  await expect(page).toHaveURL(/\/apps\/demo\/settings$/);
  await expect(page.locator('.app-switcher summary')).toContainText('Demo');
});

test('the panel works at phone width', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page);
  const nav = page.getByRole('navigation', { name: 'Sections' });
  await expect(nav.getByRole('link', { name: 'Settings' })).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});

test('a confirm_decline booking is created and confirmed in the panel', async ({ page }) => {
  await signIn(page);
  await expect(page.getByRole('heading', { name: 'New resource' })).toBeVisible();
  await page.locator('input[name="name"]').fill('Studio A');
  await page.getByRole('button', { name: 'Create resource' }).click();
  await createBooking(page, {
    graph: 'confirm_decline',
    what: 'Intro session',
    start: '2030-01-10T10:00',
    end: '2030-01-10T11:00',
    customer: 'Grace Hopper',
    email: 'grace@example.com',
  });
  await expect(page).toHaveURL(/\/apps\/demo\/bookings\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('booking-state')).toHaveText('tentative');
  await page.getByRole('button', { name: 'confirm', exact: true }).click();
  await expect(page.getByTestId('booking-state')).toHaveText('confirmed');
  const timeline = page.getByTestId('timeline');
  await expect(timeline.locator('li')).toHaveCount(2);
  await expect(timeline.locator('li').nth(0)).toContainText('tentative');
  await expect(timeline.locator('li').nth(1)).toContainText('tentative → confirmed');

  await page.getByRole('link', { name: '← Bookings' }).click();
  await expect(page.locator('tr', { hasText: 'Intro session' })).toContainText('confirmed');
  await page.getByLabel('State').selectOption('declined');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/state=declined/);
  await expect(page.getByRole('heading', { name: 'No booking matches' })).toBeVisible();
});

test('a webhook is created through the matrix, edited, its secret rotated, and deleted', async ({ page }) => {
  await signIn(page);
  const nav = page.getByRole('navigation', { name: 'Sections' });
  await nav.getByRole('link', { name: 'Webhooks' }).click();
  await expect(page.getByRole('heading', { name: 'No webhooks yet' })).toBeVisible();
  await page.getByRole('link', { name: 'Create your first webhook' }).click();
  await expect(page).toHaveURL(/\/webhooks\/new$/);

  await page.getByLabel('Endpoint URL').fill('https://hooks.example.com/bookings');
  await page.getByLabel('Name').fill('Booking sync');
  // Each graph row offers only its own states.
  await expect(page.locator('[data-graph="instant"]').getByLabel('instant unpaid')).toHaveCount(0);
  await page.getByLabel('all states of confirm_decline').check();
  await page.getByLabel('instant_payment unpaid').check();
  await expect(page.getByLabel('confirm_decline declined')).toBeChecked();
  await page.getByRole('button', { name: 'Create webhook' }).click();
  await expect(page).toHaveURL(/\/webhooks\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('heading', { name: 'Booking sync' })).toBeVisible();
  await expect(page.getByLabel('instant_payment unpaid')).toBeChecked();
  await expect(page.getByLabel('confirm_decline tentative')).toBeChecked();

  // Edit: rename and drop one state.
  await page.getByLabel('Name').fill('Booking sync v2');
  await page.getByLabel('confirm_decline tentative').uncheck();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('status')).toHaveText('Saved.');
  await page.reload();
  await expect(page.getByLabel('confirm_decline tentative')).not.toBeChecked();
  await expect(page.getByLabel('confirm_decline confirmed')).toBeChecked();

  // A URL the SSRF guard refuses gets a message on the field.
  await waitForHydration(page);
  await page.getByLabel('Endpoint URL').fill('http://127.0.0.1:9/hook');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('alert')).toContainText('allowed_target_subnets');
  await page.reload();
  await waitForHydration(page);

  // The secret: revealed on demand, rotated with the old one kept. The receiver code beside
  // it gets the secret once revealed.
  const snippet = page.getByTestId('snippet');
  await expect(snippet).toContainText('from standardwebhooks');
  await expect(snippet).toContainText('Reveal secret fills it in');
  await page.getByRole('button', { name: 'Reveal secret' }).click();
  const secret = page.getByTestId('webhook-secret');
  await expect(secret).toHaveText(/^whsec_[A-Za-z0-9+/=]{32}$/);
  const before = await secret.textContent();
  await expect(snippet).toContainText(`SECRET = "${before}"`);
  await page.getByRole('tab', { name: 'Rust' }).click();
  await expect(snippet).toContainText('use standardwebhooks::Webhook;');
  await expect(snippet).toContainText(`const SECRET: &str = "${before}";`);
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await expect(secret).not.toHaveText(before!);
  await expect(page.getByText('Previous secret, still signing until')).toContainText(before!);

  await page.getByRole('link', { name: '← Webhooks' }).click();
  const row = page.locator('tr', { hasText: 'Booking sync v2' });
  await expect(row).toContainText('https://hooks.example.com/bookings');
  await expect(row).toContainText('enabled');
  await row.getByRole('link', { name: 'Booking sync v2' }).click();
  await waitForHydration(page);
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Delete webhook' }).click();
  await expect(page).toHaveURL(/\/webhooks$/);
  await expect(page.getByRole('heading', { name: 'No webhooks yet' })).toBeVisible();

  // With Developer Mode off the tab is gone and its URL explains how to turn it on.
  await page.getByLabel('Profile').click();
  await page.getByRole('switch', { name: 'Developer Mode' }).uncheck({ force: true });
  await expect(nav.getByRole('link', { name: 'Webhooks' })).toHaveCount(0);
  await page.goto('/apps/demo/webhooks');
  await expect(page.getByRole('heading', { name: 'Developer Mode is off' })).toBeVisible();
  await expect(page.locator('.gate')).toContainText('switch Developer Mode on');
});

test('the seed story: a bin, a webhook to it, a booking confirmed, the delivery live in the log and the bin', async ({ page }) => {
  await signIn(page);
  const nav = page.getByRole('navigation', { name: 'Sections' });
  await page.getByLabel('Profile').click();
  await page.getByRole('switch', { name: 'Developer Mode' }).check({ force: true });
  await page.getByLabel('Profile').click();

  await nav.getByRole('link', { name: 'Inspector' }).click();
  await page.getByLabel('Name').fill('seed bin');
  await page.getByRole('button', { name: 'Create bin' }).click();
  await expect(page).toHaveURL(/\/inspector\/[A-Za-z0-9]{32}$/);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Create a webhook that points here' }).click();
  await expect(page.getByText('Linked to the webhook')).toBeVisible();

  // Keep the delivery log open in a second tab, live (its server-sent events under the policy).
  const log = await page.context().newPage();
  const logCsp = await watchCsp(log);
  await log.goto('/apps/demo/deliveries');
  await log.waitForFunction(() => (window as any).__bookhook_hydrated === true);
  const before = await log.locator('[data-testid="log"] tbody tr').count();

  await page.goto('/apps/demo/bookings');
  await waitForHydration(page);
  await createBooking(page, {
    graph: 'confirm_decline',
    what: 'Seed session',
    start: '2030-02-01T09:00',
    end: '2030-02-01T10:00',
    customer: 'Ada Lovelace',
    email: 'ada@example.org',
  });
  await expect(page.getByTestId('booking-state')).toHaveText('tentative');
  await page.getByRole('button', { name: 'confirm', exact: true }).click();
  await expect(page.getByTestId('booking-state')).toHaveText('confirmed');

  // The log updates by itself: tentative and confirmed, both delivered.
  const rows = log.locator('[data-testid="log"] tbody tr');
  await expect(rows).toHaveCount(before + 2);
  await expect(rows.first()).toContainText('confirm_decline → confirmed');
  await expect(rows.first()).toContainText('delivered');

  // The bin shows the request with a valid signature.
  await page.goto('/apps/demo/inspector');
  await page.getByRole('link', { name: 'seed bin' }).click();
  const captured = page.getByTestId('captured').locator('> li');
  await expect(captured).toHaveCount(2);
  await expect(captured.first()).toContainText('signature valid');
  await expect(captured.first()).toContainText('"state": "confirmed"');

  // Open the attempt and redeliver it.
  await rows.first().getByRole('link').first().click();
  await expect(log.getByTestId('message-status')).toHaveText('delivered');
  await expect(log.getByTestId('payload')).toContainText('"state": "confirmed"');
  await expect(log.getByTestId('attempts').locator('> li')).toHaveCount(1);
  await log.waitForFunction(() => (window as any).__bookhook_hydrated === true);
  await log.getByRole('button', { name: 'Redeliver now' }).click();
  await expect(log.getByTestId('attempts').locator('> li')).toHaveCount(2);
  await expect(log.getByTestId('attempts').locator('> li').first()).toContainText('manual');
  await page.reload();
  await expect(page.getByTestId('captured').locator('> li')).toHaveCount(3);
  expect(logCsp, logCsp.join('\n')).toEqual([]);
});

test("a webhook switched to Timekit's payload format sends Timekit's payload, as the inspector shows", async ({ page }) => {
  await signIn(page);
  await page.goto('/apps/demo/inspector');
  await waitForHydration(page);
  await page.getByLabel('Name').fill('format bin');
  await page.getByRole('button', { name: 'Create bin' }).click();
  await expect(page).toHaveURL(/\/inspector\/[A-Za-z0-9]{32}$/);
  const bin = page.url();
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Create a webhook that points here' }).click();
  await expect(page.getByText('Linked to the webhook')).toBeVisible();

  const sendTest = async () => {
    await page.goto('/apps/demo/webhooks');
    await page.getByRole('link', { name: 'Inspector: format bin' }).click();
    await waitForHydration(page);
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect(page.getByText('Test event queued')).toBeVisible();
  };
  const captured = page.getByTestId('captured').locator('> li');

  // bookhook's JSON: null where a value is absent, meta an object.
  await sendTest();
  await page.goto(bin);
  await expect(captured).toHaveCount(1);
  await expect(captured.first()).toContainText('"voip": null');
  await expect(captured.first()).toContainText('"resource_id"');

  // Switched to Timekit in the form: "" for absent strings, meta as a string, local offsets.
  await page.goto('/apps/demo/webhooks');
  await page.getByRole('link', { name: 'Inspector: format bin' }).click();
  await waitForHydration(page);
  await page.getByLabel('Payload format').selectOption('timekit');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByText('Saved.')).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('Payload format')).toHaveValue('timekit');

  await sendTest();
  await page.goto(bin);
  await expect(captured).toHaveCount(2);
  const timekit = captured.first();
  await expect(timekit).toContainText('"voip": ""');
  await expect(timekit).toContainText('"meta": "{}"');
  await expect(timekit).toContainText('"rsvp": "accepted"');
  await expect(timekit).toContainText(/"start": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]00"/);
  await expect(timekit).not.toContainText('"resource_id"');
  await expect(timekit).toContainText('signature valid');
});

test('the API reference renders the OpenAPI document with the network cut off', async ({ page }) => {
  // Only the panel itself answers; any other host would mean a CDN, fonts or telemetry.
  const elsewhere: string[] = [];
  await page.context().route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' || url.hostname === 'localhost') return route.continue();
    elsewhere.push(url.href);
    return route.abort('internetdisconnected');
  });
  await signIn(page);
  const nav = page.getByRole('navigation', { name: 'Sections' });
  await nav.getByRole('link', { name: 'API reference' }).click();
  await expect(page).toHaveURL(/\/apps\/demo\/reference$/);
  const reference = page.getByTestId('reference');
  await expect(reference.getByText('bookhook API').first()).toBeVisible({ timeout: 15000 });
  await expect(reference.getByText('/v2/bookings/{id}/{action}').first()).toBeAttached();
  await expect(reference.getByText('booking.confirm_decline').first()).toBeAttached();
  // Loaded directly too (not only through the panel's navigation).
  await page.reload();
  await expect(page.getByTestId('reference').getByText('bookhook API').first()).toBeVisible({ timeout: 15000 });
  expect(elsewhere).toEqual([]);
  await page.context().unroute('**/*');
});
