import { Page, Browser } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { test, expect, signIn, developerModeOn, waitForHydration, watchCsp, createResource, createBooking } from './support';

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
  const outCsp = await watchCsp(out);
  await out.goto('/');
  await out.waitForURL(/\/(setup|login|apps\/.*)$/);
  if (out.url().endsWith('/setup')) found.push(...(await violations(out, 'setup')));
  await anon.close();
  found.push(...outCsp);

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
  await createResource(page, 'Axe room', 'Europe/Copenhagen');
  found.push(...(await violations(page, 'bookings with the new booking form')));
  await createBooking(page, {
    resource: 'Axe room',
    graph: 'confirm_decline',
    what: 'Axe session',
    start: '2030-05-01T10:00',
    end: '2030-05-01T11:00',
    customer: 'Tim Berners-Lee',
    email: 'tim@example.org',
  });
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
  const loginCsp = await watchCsp(login);
  await login.goto('/login');
  found.push(...(await violations(login, 'sign in')));
  await anon2.close();
  found.push(...loginCsp);

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

/** Presses Tab until `target` has the focus (at most `max` times). */
async function tabTo(page: Page, target: ReturnType<Page['locator']>, max = 80) {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${target}`);
}

test('the keyboard alone: the profile menu, a new booking, its action, a new webhook', async ({ page }) => {
  await signIn(page);
  await developerModeOn(page);
  const base = page.url().replace(/\/bookings$/, '');

  // The profile menu opens with Enter, its switch toggles with Space, Escape closes it and gives
  // the focus back.
  const profile = page.getByLabel('Profile');
  const toggle = page.getByRole('switch', { name: 'Developer Mode' });
  await page.locator('body').focus();
  await tabTo(page, profile);
  await page.keyboard.press('Enter');
  await expect(toggle).toBeVisible();
  await tabTo(page, toggle);
  await page.keyboard.press('Space');
  await expect(toggle).not.toBeChecked();
  await page.keyboard.press('Space');
  await expect(toggle).toBeChecked();
  await page.keyboard.press('Escape');
  await expect(toggle).toBeHidden();
  await expect(profile).toBeFocused();

  // A booking: the New booking link, then every field typed.
  const newBooking = page.getByRole('link', { name: 'New booking' });
  await tabTo(page, newBooking);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\?new$/);
  const resourceForm = page.locator('form', { has: page.getByRole('button', { name: 'Create resource' }) });
  await tabTo(page, resourceForm.locator('input[name="name"]'));
  await page.keyboard.type('Keyboard room');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('UTC');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Enter');
  const form = page.locator('form', { has: page.getByRole('button', { name: 'Create booking' }) });
  await expect(form.getByLabel('Resource').locator('option', { hasText: 'Keyboard room' })).toHaveCount(1);
  await tabTo(page, form.getByLabel('Resource'));
  // A select takes the first letters of an option.
  await page.keyboard.type('Keyboard room');
  await expect(form.getByLabel('Resource')).toHaveValue(
    (await form.getByLabel('Resource').locator('option', { hasText: 'Keyboard room' }).getAttribute('value'))!,
  );
  await page.keyboard.press('Tab');
  await page.keyboard.type('confirm_decline');
  await expect(form.getByLabel('Graph')).toHaveValue('confirm_decline');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Typed session');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Room 1');
  // datetime-local, en-US: month, day, year, hour, minute, AM/PM.
  // (the year takes up to six digits, so the arrow moves on to the hour).
  await page.keyboard.press('Tab');
  await page.keyboard.type('01102030');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.type('1000A');
  await tabTo(page, form.getByLabel('End', { exact: false }));
  await page.keyboard.type('01102030');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.type('1100A');
  await expect(form.getByLabel('Start', { exact: false })).toHaveValue('2030-01-10T10:00');
  await expect(form.getByLabel('End', { exact: false })).toHaveValue('2030-01-10T11:00');
  await tabTo(page, form.getByLabel('Customer name'));
  await page.keyboard.type('Kay Board');
  await page.keyboard.press('Tab');
  await page.keyboard.type('kay@example.org');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/bookings\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('booking-state')).toHaveText('tentative');
  await waitForHydration(page);

  // Its action, reached with Tab and pressed with Enter.
  await tabTo(page, page.getByRole('button', { name: 'confirm', exact: true }));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('booking-state')).toHaveText('confirmed');

  // A webhook: the URL typed, a box of the matrix checked with Space, the form sent with Enter.
  await page.goto(`${base}/webhooks/new`);
  await waitForHydration(page);
  await tabTo(page, page.getByLabel('Endpoint URL'));
  await page.keyboard.type('https://hooks.example.com/keyboard');
  await tabTo(page, page.getByLabel('confirm_decline confirmed'));
  await page.keyboard.press('Space');
  await expect(page.getByLabel('confirm_decline confirmed')).toBeChecked();
  await tabTo(page, page.getByRole('button', { name: 'Create webhook' }));
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/webhooks\/[^/]+$/);
  await expect(page.getByLabel('Endpoint URL')).toHaveValue('https://hooks.example.com/keyboard');
  await expect(page.getByLabel('confirm_decline confirmed')).toBeChecked();
});
