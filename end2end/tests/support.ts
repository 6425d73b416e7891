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

/** The Bookings page's two forms, opened by its "New booking" link unless open (the page must be open). */
export async function newBookingForms(page: Page) {
  const link = page.getByRole('link', { name: 'New booking' });
  if ((await link.getAttribute('aria-expanded')) !== 'true') await link.click();
  await expect(link).toHaveAttribute('aria-expanded', 'true');
  return {
    resource: page.locator('form', { has: page.getByRole('button', { name: 'Create resource' }) }),
    booking: page.locator('form', { has: page.getByRole('button', { name: 'Create booking' }) }),
  };
}

/** Creates a resource in the open resource form; it is then offered in the booking form. */
export async function createResource(page: Page, name: string, zone: string) {
  const { resource, booking } = await newBookingForms(page);
  await resource.locator('input[name="name"]').fill(name);
  await resource.getByLabel('Time zone').fill(zone);
  // Close the list of suggestions the browser opened under the field (it swallows clicks).
  await resource.getByLabel('Time zone').press('Escape');
  await resource.getByRole('button', { name: 'Create resource' }).click();
  await expect(booking.getByLabel('Resource').locator('option', { hasText: name })).toHaveCount(1);
}

export interface NewBooking {
  /** The resource's name; the form's first resource when left out. */
  resource?: string;
  graph: string;
  what: string;
  /** `datetime-local` values, read on the resource's clock. */
  start: string;
  end: string;
  customer: string;
  email: string;
}

/** Fills the New booking form and creates the booking; returns its id, its page open. */
export async function createBooking(page: Page, b: NewBooking): Promise<string> {
  const { booking: form } = await newBookingForms(page);
  if (b.resource) await form.getByLabel('Resource').selectOption({ label: b.resource });
  await form.getByLabel('Graph').selectOption(b.graph);
  await form.getByLabel('What').fill(b.what);
  await form.getByLabel('Start', { exact: false }).fill(b.start);
  await form.getByLabel('End', { exact: false }).fill(b.end);
  await form.getByLabel('Customer name').fill(b.customer);
  await form.getByLabel('Customer email').fill(b.email);
  await form.getByRole('button', { name: 'Create booking' }).click();
  await expect(page).toHaveURL(/\/bookings\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop()!;
}
