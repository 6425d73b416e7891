import { test, expect } from '@playwright/test';

// `make screenshots`: the README's pictures of the panel, on a fresh installation.
test.describe.configure({ mode: 'serial' });

const shot = (name: string) => `screenshots/${name}.png`;

test('panel screenshots', async ({ page, request }) => {
  await page.goto('/setup');
  await page.waitForFunction(() => (window as any).__bookhook_hydrated === true);
  await page.screenshot({ path: shot('setup') });
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/apps\/demo\/bookings$/);
  await page.waitForFunction(() => (window as any).__bookhook_hydrated === true);

  await page.goto('/apps/demo/settings');
  await page.waitForFunction(() => (window as any).__bookhook_hydrated === true);
  await page.getByLabel('Label').fill('production server');
  await page.getByRole('button', { name: 'Create API key' }).click();
  await expect(page.getByTestId('new-api-key')).toBeVisible();
  await page.screenshot({ path: shot('settings'), fullPage: true });

  await page.getByLabel('Profile').click();
  await page.getByRole('switch', { name: 'Developer Mode' }).check({ force: true });
  await expect(page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Webhooks' })).toBeVisible();
  await page.screenshot({ path: shot('profile-menu') });
});
