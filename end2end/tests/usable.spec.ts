import { test, expect, Page, Browser } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { signIn, developerModeOn, waitForHydration } from './support';

// No one left out: axe-core's automated rules over every page of the panel, signed in with
// Developer Mode on (and the signed-out pages), failing on any serious or critical violation.
test.describe.configure({ mode: 'serial' });

/** The serious and critical violations on the page as it is now, one line each. */
async function violations(page: Page, name: string): Promise<string[]> {
  await waitForHydration(page);
  // RapiDoc (the API reference's third-party web component) is checked by its own project; its
  // shadow DOM is left out, the page around it is checked.
  const results = await new AxeBuilder({ page }).exclude('rapi-doc').analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${name}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('every page passes axe-core with no serious or critical violation', async ({ page, browser }) => {
  test.setTimeout(180_000);
  const found: string[] = [];

  // Signed out: the first-run page (on a fresh installation) and the sign-in page.
  const anon = await browser.newContext();
  const out = await anon.newPage();
  await out.goto('/');
  await out.waitForURL(/\/(setup|login|apps\/.*)$/);
  if (out.url().endsWith('/setup')) found.push(...(await violations(out, 'setup')));
  await anon.close();

  await signIn(page);
  const slug = page.url().match(/\/apps\/([^/]+)\/bookings/)![1];
  const base = `/apps/${slug}`;
  await developerModeOn(page);

  // Data for every page: a bin with its webhook, a resource, a booking that sends a message.
  await page.goto(`${base}/inspector`);
  await waitForHydration(page);
  await page.getByLabel('Name').fill('axe bin');
  await page.getByRole('button', { name: 'Create bin' }).click();
  await expect(page).toHaveURL(/\/inspector\/[A-Za-z0-9]{32}$/);
  const bin = page.url();
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Create a webhook that points here' }).click();
  await expect(page.getByText('Linked to the webhook')).toBeVisible();

  await page.goto(`${base}/bookings`);
  await waitForHydration(page);
  await page.getByRole('link', { name: 'New booking' }).click();
  const resourceForm = page.locator('form', { has: page.getByRole('button', { name: 'Create resource' }) });
  await resourceForm.locator('input[name="name"]').fill('Axe room');
  await resourceForm.getByLabel('Time zone').fill('Europe/Copenhagen');
  await resourceForm.getByLabel('Time zone').press('Escape');
  await resourceForm.getByRole('button', { name: 'Create resource' }).click();
  const form = page.locator('form', { has: page.getByRole('button', { name: 'Create booking' }) });
  await expect(form.getByLabel('Resource').locator('option', { hasText: 'Axe room' })).toHaveCount(1);
  found.push(...(await violations(page, 'bookings with the new booking form')));
  await form.getByLabel('Resource').selectOption({ label: 'Axe room' });
  await form.getByLabel('Graph').selectOption('confirm_decline');
  await form.getByLabel('What').fill('Axe session');
  await form.getByLabel('Start', { exact: false }).fill('2030-05-01T10:00');
  await form.getByLabel('End', { exact: false }).fill('2030-05-01T11:00');
  await form.getByLabel('Customer name').fill('Tim Berners-Lee');
  await form.getByLabel('Customer email').fill('tim@example.org');
  await form.getByRole('button', { name: 'Create booking' }).click();
  await expect(page.getByTestId('booking-state')).toHaveText('tentative');
  const booking = page.url();

  const pages: [string, string][] = [
    ['bookings', `${base}/bookings`],
    ['a booking', booking],
    ['webhooks', `${base}/webhooks`],
    ['new webhook', `${base}/webhooks/new`],
    ['delivery log', `${base}/deliveries`],
    ['inspector', `${base}/inspector`],
    ['a bin', bin],
    ['API reference', `${base}/reference`],
    ['settings', `${base}/settings`],
    ['not found', '/no/such/page'],
  ];
  for (const [name, url] of pages) {
    await page.goto(url);
    found.push(...(await violations(page, name)));
  }

  // A webhook's page and a message's page, reached from their lists.
  await page.goto(`${base}/webhooks`);
  await waitForHydration(page);
  await page.getByRole('link', { name: /axe bin/ }).first().click();
  await expect(page).toHaveURL(/\/webhooks\/[^/]+$/);
  await expect(page.getByTestId('health')).toBeVisible();
  found.push(...(await violations(page, 'a webhook')));
  await page.goto(`${base}/deliveries`);
  await waitForHydration(page);
  await page.locator('[data-testid="log"] tbody tr').first().getByRole('link').first().click();
  await expect(page.getByTestId('payload')).toBeVisible();
  found.push(...(await violations(page, 'a message')));

  // Signed out again: the sign-in page.
  const anon2 = await browser.newContext();
  const login = await anon2.newPage();
  await login.goto('/login');
  found.push(...(await violations(login, 'sign in')));
  await anon2.close();

  expect(found, found.join('\n')).toEqual([]);
});

test('the main forms work with JavaScript off: sign in, new booking, its actions, new webhook', async ({ page, browser }) => {
  // Developer Mode is an account setting: turn it on with JavaScript, then work without.
  await signIn(page);
  await developerModeOn(page);
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const p = await ctx.newPage();

  await p.goto('/login');
  await p.getByLabel('Email').fill('ada@example.com');
  await p.getByLabel('Password').fill('not the password');
  await p.getByRole('button', { name: 'Sign in' }).click();
  await expect(p.getByRole('alert')).toHaveText('Incorrect email or password.');
  await p.getByLabel('Email').fill('ada@example.com');
  await p.getByLabel('Password').fill('correct horse battery');
  await p.getByRole('button', { name: 'Sign in' }).click();
  await expect(p).toHaveURL(/\/apps\/[^/]+\/bookings$/);
  const base = p.url().replace(/\/bookings$/, '');

  // A resource and a booking, through the forms the server renders.
  await p.getByRole('link', { name: 'New booking' }).click();
  await expect(p).toHaveURL(/\?new$/);
  const resourceForm = p.locator('form', { has: p.getByRole('button', { name: 'Create resource' }) });
  await resourceForm.locator('input[name="name"]').fill('No-script room');
  await resourceForm.getByLabel('Time zone').fill('Europe/Oslo');
  await resourceForm.getByRole('button', { name: 'Create resource' }).click();
  const form = p.locator('form', { has: p.getByRole('button', { name: 'Create booking' }) });
  await form.getByLabel('Resource').selectOption({ label: 'No-script room' });
  await form.getByLabel('Graph').selectOption('confirm_decline');
  await form.getByLabel('What').fill('Quiet session');
  await form.getByLabel('Customer name').fill('Ada Lovelace');
  await form.getByLabel('Customer email').fill('ada.nojs@example.org');
  // An end before the start comes back as a message by the form.
  await form.getByLabel('Start', { exact: false }).fill('2030-06-01T10:00');
  await form.getByLabel('End', { exact: false }).fill('2030-06-01T09:00');
  await form.getByRole('button', { name: 'Create booking' }).click();
  await expect(p.getByRole('alert')).toContainText('end');
  const again = p.locator('form', { has: p.getByRole('button', { name: 'Create booking' }) });
  await again.getByLabel('Resource').selectOption({ label: 'No-script room' });
  await again.getByLabel('Graph').selectOption('confirm_decline');
  await again.getByLabel('What').fill('Quiet session');
  await again.getByLabel('Customer name').fill('Ada Lovelace');
  await again.getByLabel('Customer email').fill('ada.nojs@example.org');
  await again.getByLabel('Start', { exact: false }).fill('2030-06-01T10:00');
  await again.getByLabel('End', { exact: false }).fill('2030-06-01T11:00');
  await again.getByRole('button', { name: 'Create booking' }).click();
  await expect(p).toHaveURL(/\/bookings\/[0-9a-f-]{36}$/);
  await expect(p.getByTestId('booking-state')).toHaveText('tentative');
  await expect(p.getByTestId('booking-start')).toHaveText('2030-06-01 10:00 Europe/Oslo');
  await p.getByRole('button', { name: 'confirm', exact: true }).click();
  await expect(p.getByTestId('booking-state')).toHaveText('confirmed');

  // A webhook through the matrix: a refused URL comes back as a message, then it is made.
  await p.goto(`${base}/webhooks/new`);
  await p.getByLabel('Endpoint URL').fill('http://169.254.169.254/latest');
  await p.getByLabel('confirm_decline confirmed').check();
  await p.getByRole('button', { name: 'Create webhook' }).click();
  await expect(p.getByRole('alert')).toContainText('cloud metadata');
  await p.getByLabel('Endpoint URL').fill('https://hooks.example.com/no-script');
  await p.getByLabel('confirm_decline confirmed').check();
  await p.getByLabel('instant confirmed').check();
  await p.getByRole('button', { name: 'Create webhook' }).click();
  await expect(p).toHaveURL(/\/webhooks\/[^/]+$/);
  await expect(p.getByLabel('Endpoint URL')).toHaveValue('https://hooks.example.com/no-script');
  await expect(p.getByLabel('confirm_decline confirmed')).toBeChecked();
  await expect(p.getByLabel('instant confirmed')).toBeChecked();
  await expect(p.getByLabel('confirm_decline declined')).not.toBeChecked();
  await expect(p.getByRole('switch', { name: 'Enabled' })).toBeChecked();
  await ctx.close();
});
