import { Page } from '@playwright/test';
import { test, expect } from './support';

// `make screenshots`: the README's pictures of the panel, on a fresh installation.
const shot = (name: string) => `screenshots/${name}.png`;
const hydrated = (page: Page) => page.waitForFunction(() => (window as any).__bookhook_hydrated === true);

test('panel screenshots', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('/setup');
  await hydrated(page);
  await page.screenshot({ path: shot('setup') });
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/apps\/demo\/bookings$/);
  await hydrated(page);

  await page.getByLabel('Profile').click();
  await page.getByRole('switch', { name: 'Developer Mode' }).check({ force: true });
  await expect(page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Webhooks' })).toBeVisible();
  await page.screenshot({ path: shot('profile-menu') });
  await page.getByLabel('Profile').click();

  // A bin with a webhook pointing at it, so deliveries really happen.
  await page.goto('/apps/demo/inspector');
  await hydrated(page);
  await page.getByLabel('Name').fill('My endpoint');
  await page.getByRole('button', { name: 'Create bin' }).click();
  await expect(page).toHaveURL(/\/inspector\/[A-Za-z0-9]{32}$/);
  await hydrated(page);
  await page.getByRole('button', { name: 'Create a webhook that points here' }).click();
  await expect(page.getByText('Linked to the webhook')).toBeVisible();
  const binUrl = page.url();

  await page.goto('/apps/demo/bookings');
  await hydrated(page);
  await page.locator('input[name="name"]').fill('Studio A');
  await page.getByRole('button', { name: 'Create resource' }).click();
  const graphs: [string, string, string][] = [
    ['confirm_decline', 'Intro session', 'confirm'],
    ['instant', 'Yoga class', ''],
    ['instant_payment', 'Massage (paid)', 'pay'],
    ['confirm_decline', 'Consultation', 'decline'],
  ];
  for (const [graph, what, action] of graphs) {
    await page.goto('/apps/demo/bookings');
    await hydrated(page);
    await page.getByRole('link', { name: 'New booking' }).click();
    const form = page.locator('form', { has: page.getByRole('button', { name: 'Create booking' }) });
    await form.getByLabel('Graph').selectOption(graph);
    await form.getByLabel('What').fill(what);
    await form.getByLabel('Where').fill('Studio A');
    await form.getByLabel('Start', { exact: false }).fill('2030-01-10T10:00');
    await form.getByLabel('End', { exact: false }).fill('2030-01-10T11:00');
    await form.getByLabel('Customer name').fill('Grace Hopper');
    await form.getByLabel('Customer email').fill('grace@example.com');
    await form.getByRole('button', { name: 'Create booking' }).click();
    await expect(page).toHaveURL(/bookings\/[0-9a-f-]{36}$/);
    if (action) {
      await hydrated(page);
      await page.getByRole('button', { name: action, exact: true }).click();
      await expect(page.getByTestId('timeline').locator('li')).toHaveCount(2);
    }
  }
  await page.screenshot({ path: shot('booking'), fullPage: true });
  await page.goto('/apps/demo/bookings');
  await hydrated(page);
  await page.screenshot({ path: shot('bookings') });

  await page.goto('/apps/demo/deliveries');
  await hydrated(page);
  await expect(page.locator('[data-testid="log"] tbody tr')).toHaveCount(7);
  await page.screenshot({ path: shot('deliveries') });
  await page.locator('[data-testid="log"] tbody tr').first().getByRole('link').first().click();
  await expect(page.getByTestId('attempts')).toBeVisible();
  await page.screenshot({ path: shot('message'), fullPage: true });

  await page.goto(binUrl);
  await expect(page.getByTestId('captured')).toBeVisible();
  await page.screenshot({ path: shot('inspector') });

  await page.goto('/apps/demo/webhooks');
  await page.locator('[data-testid="webhooks"] tbody tr').first().getByRole('link').click();
  await expect(page.getByRole('button', { name: 'Save changes' })).toBeVisible();
  await expect(page.getByLabel('Endpoint URL')).not.toHaveValue('');
  await page.screenshot({ path: shot('webhook'), fullPage: true });

  await page.goto('/apps/demo/settings');
  await hydrated(page);
  await page.getByLabel('Label').fill('production server');
  await page.getByRole('button', { name: 'Create API key' }).click();
  await expect(page.getByTestId('new-api-key')).toBeVisible();
  await page.screenshot({ path: shot('settings'), fullPage: true });

  await page.goto('/apps/demo/reference');
  await expect(page.getByTestId('reference').getByText('bookhook API').first()).toBeVisible({ timeout: 15000 });
  await page.screenshot({ path: shot('reference') });

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/apps/demo/deliveries');
  await hydrated(page);
  await page.screenshot({ path: shot('phone') });
});
