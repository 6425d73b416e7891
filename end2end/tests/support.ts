// Shared steps for the spec files that run after panel.spec.ts (which creates the first admin):
// each spec can also run on its own, so signing in creates the account when the installation is new.
import { test as base, expect, Page } from '@playwright/test';

export { expect };

/**
 * Collects what the page's Content-Security-Policy refuses, from the `securitypolicyviolation`
 * events (shadow DOM included: they bubble out of it) and Chromium's console errors (which also
 * report what no document sees, such as a refused frame).
 */
export async function watchCsp(page: Page): Promise<string[]> {
  const seen: string[] = [];
  await page.exposeFunction('__bookhookCspViolation', (s: string) => seen.push(s));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as any).__bookhookCspViolation(
        `${e.effectiveDirective} refused ${e.blockedURI || 'inline'} on ${location.pathname} (${e.sourceFile}:${e.lineNumber})`,
      ),
    );
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) seen.push(`console: ${m.text()}`);
  });
  return seen;
}

/**
 * The `test` every spec uses: its `page` runs under the panel's real policy, and a test fails if
 * anything it did was refused, so every page the specs visit is shown to hydrate and work with it.
 */
export const test = base.extend<{ csp: string[] }>({
  csp: [
    async ({ page }, use) => {
      const seen = await watchCsp(page);
      await use(seen);
      expect(seen, `refused by the Content-Security-Policy:\n${seen.join('\n')}`).toEqual([]);
    },
    { auto: true },
  ],
});

export const EMAIL = 'ada@example.com';
export const PASSWORD = 'correct horse battery';

/** The WASM bundle marks the document once hydrated; interactions before that would be lost. */
export async function waitForHydration(page: Page) {
  await page.waitForFunction(() => (window as any).__bookhook_hydrated === true);
}

/** Signs in as the first admin (creating it on a fresh installation); lands on the bookings. */
export async function signIn(page: Page) {
  await page.goto('/');
  await page.waitForURL(/\/(setup|login|apps\/.*)$/);
  await waitForHydration(page);
  if (page.url().includes('/apps/')) return;
  if (page.url().endsWith('/setup')) {
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
  } else {
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await expect(page).toHaveURL(/\/apps\/[a-z0-9-]+\/bookings$/);
  await waitForHydration(page);
}

/** Turns Developer Mode on (it is remembered per account). */
export async function developerModeOn(page: Page) {
  const nav = page.getByRole('navigation', { name: 'Sections' });
  if (await nav.getByRole('link', { name: 'Webhooks' }).count()) return;
  await page.getByLabel('Profile').click();
  await page.getByRole('switch', { name: 'Developer Mode' }).check({ force: true });
  await expect(nav.getByRole('link', { name: 'Webhooks' })).toBeVisible();
  await page.getByLabel('Profile').click();
}
