import { test, expect, signIn, developerModeOn, waitForHydration, createResource, createBooking } from './support';

// Finding a booking: the Bookings page's filters and the Delivery log's box. Other spec files may
// have left bookings behind, so this one makes its own, for a customer no one else has.
test.describe.configure({ mode: 'serial' });

const STAMP = Date.now();
const STUDIO = `Search studio ${STAMP}`;
const CUSTOMER = `finder-${STAMP}@example.com`;

test('search by email finds the booking on the Bookings page and its message in the log', async ({ page }) => {
  await signIn(page);
  await developerModeOn(page);
  const slug = page.url().match(/\/apps\/([^/]+)\/bookings/)![1];

  // A webhook for the booking's state, so that the booking has a message in the log.
  const hook = await page.request.post('/api/save_webhook', {
    data: {
      app: slug, id: '',
      fields: {
        name: `search ${STAMP}`, description: '', url: 'https://example.com/search', enabled: true,
        events: [{ graph: 'instant', state: 'confirmed' }], payload_format: 'bookhook',
      },
    },
  });
  expect(hook.ok(), await hook.text()).toBeTruthy();

  // A resource and a booking, made in the page's own forms.
  await createResource(page, STUDIO, 'UTC');
  const id = await createBooking(page, {
    resource: STUDIO,
    graph: 'instant',
    what: 'Findable class',
    start: '2030-01-10T10:00',
    end: '2030-01-10T11:00',
    customer: 'Finn Finder',
    email: CUSTOMER,
  });

  // The Bookings page: the email (in any case) finds it and nothing else.
  await page.goto(`/apps/${slug}/bookings`);
  await waitForHydration(page);
  const filters = page.locator('form.filters');
  const box = filters.getByLabel('Customer name, email or booking id');
  const rows = page.locator('table.table tbody tr');
  await box.fill(CUSTOMER.toUpperCase());
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/[?&]q=FINDER-/);
  await expect(rows).toHaveCount(1);
  await expect(rows.first().getByRole('link', { name: 'Findable class' })).toHaveAttribute('href', new RegExp(id));
  await expect(rows.first()).toContainText('Finn Finder');

  // The same customer on another day, or another customer, finds nothing.
  await filters.getByLabel('Starts from (UTC day)').fill('2030-01-11');
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByRole('heading', { name: 'No booking matches' })).toBeVisible();
  await filters.getByLabel('Starts from (UTC day)').fill('');
  await box.fill(`nobody-${STAMP}@example.com`);
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/q=nobody-/);
  await expect(page.getByRole('heading', { name: 'No booking matches' })).toBeVisible();
  await expect(rows).toHaveCount(0);

  // The resource and the booking id find it too.
  await box.fill(id);
  await filters.getByLabel('Resource').selectOption({ label: STUDIO });
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('Finn Finder');

  // The Delivery log: the booking id finds its message, and so does the customer's email.
  await page.goto(`/apps/${slug}/deliveries`);
  await waitForHydration(page);
  const logFilters = page.locator('form.filters');
  const logBox = logFilters.getByLabel('Customer email, booking id or message id');
  const messages = page.locator('[data-testid="log"] tbody tr');
  // Other specs' webhooks (subscribed to every state) get the booking too: look at this one's.
  await logFilters.getByLabel('Webhook').selectOption({ label: `search ${STAMP}` });
  await logBox.fill(id);
  await logFilters.getByRole('button', { name: 'Filter' }).click();
  await expect(messages).toHaveCount(1);
  await expect(messages.first().locator(`a[href$="/bookings/${id}"]`)).toHaveCount(1);
  const msg = await messages.first().getAttribute('data-msg');
  expect(msg).toMatch(/^msg_/);
  await logBox.fill(CUSTOMER);
  await logFilters.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/q=finder-/);
  await expect(messages).toHaveCount(1);
  await expect(messages.first()).toHaveAttribute('data-msg', msg!);
  // A part of a name is not something the log can find: it says what it takes.
  await logBox.fill('Finn');
  await logFilters.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByText('whole email, a booking id or a message id')).toBeVisible();
});
