import { Page } from '@playwright/test';
import { test, expect, signIn, developerModeOn, waitForHydration } from './support';

// Times in people's time: bookings on their resource's clock, the log in the browser's zone.
test.describe.configure({ mode: 'serial' });
// The browser is in New York; the studio is in Copenhagen.
test.use({ timezoneId: 'America/New_York' });

const STUDIO = `Copenhagen studio ${Date.now()}`;

async function bookingForm(page: Page) {
  await page.getByRole('link', { name: 'New booking' }).click();
  return page.locator('form', { has: page.getByRole('button', { name: 'Create booking' }) });
}

test('a booking typed at 10:00 for a studio in Copenhagen is 09:00Z in the API; DST edges get a message', async ({ page, request }) => {
  await signIn(page);
  const slug = page.url().match(/\/apps\/([^/]+)\/bookings/)![1];
  await page.getByRole('link', { name: 'New booking' }).click();

  // The zone field offers the browser's zone, searchable among every IANA zone.
  const resourceForm = page.locator('form', { has: page.getByRole('button', { name: 'Create resource' }) });
  const zone = resourceForm.getByLabel('Time zone');
  await expect(zone).toHaveValue('America/New_York');
  await expect(page.locator('datalist#time-zones option[value="Europe/Copenhagen"]')).toHaveCount(1);
  await resourceForm.locator('input[name="name"]').fill(STUDIO);
  await zone.fill('Mars/Base');
  await resourceForm.getByRole('button', { name: 'Create resource' }).click();
  await expect(page.getByRole('alert')).toContainText('IANA time zone');
  await zone.fill('Europe/Copenhagen');
  // Close the list of suggestions the browser opened under the field.
  await zone.press('Escape');
  await resourceForm.getByRole('button', { name: 'Create resource' }).click();

  const form = page.locator('form', { has: page.getByRole('button', { name: 'Create booking' }) });
  await expect(form.getByLabel('Resource').locator('option', { hasText: STUDIO })).toHaveCount(1);
  await form.getByLabel('Resource').selectOption({ label: STUDIO });
  await expect(form.locator('label', { hasText: 'Start' })).toContainText('Europe/Copenhagen');
  await form.getByLabel('Graph').selectOption('confirm_decline');
  await form.getByLabel('What').fill('Morning class');
  await form.getByLabel('Customer name').fill('Karen Blixen');
  await form.getByLabel('Customer email').fill('karen@example.dk');

  // 2030-03-31: Copenhagen's clocks jump from 02:00 to 03:00.
  await form.getByLabel('Start', { exact: false }).fill('2030-03-31T02:30');
  await form.getByLabel('End', { exact: false }).fill('2030-03-31T04:00');
  await form.getByRole('button', { name: 'Create booking' }).click();
  await expect(page.getByRole('alert')).toContainText('2030-03-31 02:30 does not exist in Europe/Copenhagen');
  // 2030-10-27: 02:30 happens twice.
  await form.getByLabel('Start', { exact: false }).fill('2030-10-27T02:30');
  await form.getByLabel('End', { exact: false }).fill('2030-10-27T04:00');
  await form.getByRole('button', { name: 'Create booking' }).click();
  await expect(page.getByRole('alert')).toContainText('happens twice in Europe/Copenhagen');

  await form.getByLabel('Start', { exact: false }).fill('2030-01-10T10:00');
  await form.getByLabel('End', { exact: false }).fill('2030-01-10T11:00');
  await form.getByRole('button', { name: 'Create booking' }).click();
  await expect(page).toHaveURL(/\/bookings\/[0-9a-f-]{36}$/);
  const id = page.url().split('/').pop()!;
  const start = page.getByTestId('booking-start');
  await expect(start).toHaveText('2030-01-10 10:00 Europe/Copenhagen');
  await expect(start.locator('time')).toHaveAttribute('title', '2030-01-10 09:00 UTC');

  // The API, with a key made in Settings, has it at 09:00Z.
  await page.goto(`/apps/${slug}/settings`);
  await waitForHydration(page);
  await page.getByLabel('Label').fill('zones test');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const key = (await page.getByTestId('new-api-key').textContent())!;
  const res = await request.get(`/v2/bookings/${id}`, {
    headers: { Authorization: 'Basic ' + Buffer.from(':' + key).toString('base64') },
  });
  expect(res.status()).toBe(200);
  const body = await res.json();
  expect(body.data.start).toBe('2030-01-10T09:00:00Z');
  expect(body.data.end).toBe('2030-01-10T10:00:00Z');
});

test("the delivery log shows times in the browser's zone, or in UTC when asked, and remembers", async ({ page }) => {
  await signIn(page);
  const slug = page.url().match(/\/apps\/([^/]+)\/bookings/)![1];
  await developerModeOn(page);
  // A bin with a webhook to it, and a booking that sends it a message.
  await page.goto(`/apps/${slug}/inspector`);
  await waitForHydration(page);
  await page.getByLabel('Name').fill('zones bin');
  await page.getByRole('button', { name: 'Create bin' }).click();
  await expect(page).toHaveURL(/\/inspector\/[A-Za-z0-9]{32}$/);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Create a webhook that points here' }).click();
  await expect(page.getByText('Linked to the webhook')).toBeVisible();
  await page.goto(`/apps/${slug}/bookings`);
  await waitForHydration(page);
  const form = await bookingForm(page);
  await form.getByLabel('Resource').selectOption({ label: STUDIO });
  await form.getByLabel('Graph').selectOption('instant');
  await form.getByLabel('What').fill('Evening class');
  await form.getByLabel('Customer name').fill('Niels Bohr');
  await form.getByLabel('Customer email').fill('niels@example.dk');
  await form.getByLabel('Start', { exact: false }).fill('2030-01-11T18:00');
  await form.getByLabel('End', { exact: false }).fill('2030-01-11T19:00');
  await form.getByRole('button', { name: 'Create booking' }).click();
  await expect(page.getByTestId('booking-state')).toHaveText('confirmed');

  await page.goto(`/apps/${slug}/deliveries`);
  await waitForHydration(page);
  const first = page.locator('[data-testid="log"] tbody tr').first();
  await expect(page.getByTestId('times-in')).toHaveText('Times in America/New_York');
  await expect(first.locator('td').first()).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d America\/New_York$/);
  const utc = (await first.locator('time').first().getAttribute('title'))!;
  expect(utc).toMatch(/ UTC$/);

  const toggle = page.getByRole('button', { name: 'Show times in UTC' });
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  await expect(first.locator('td').first()).toHaveText(utc);
  await expect(page.getByTestId('times-in')).toHaveText('Times in UTC');

  // Remembered: the message page and a reload keep UTC.
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByRole('button', { name: 'Show times in UTC' })).toHaveAttribute('aria-pressed', 'true');
  await expect(page.locator('[data-testid="log"] tbody tr').first().locator('td').first()).toHaveText(utc);
  await page.getByRole('button', { name: 'Show times in UTC' }).click();
  await expect(page.locator('[data-testid="log"] tbody tr').first().locator('td').first()).toContainText('America/New_York');
});
