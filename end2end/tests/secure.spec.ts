import { test, expect, signIn, developerModeOn, waitForHydration, watchCsp } from './support';

// Safe to put on the internet: the panel's Content-Security-Policy is enforced (and the watcher
// every spec runs under does see what it refuses), no other site can frame the panel, and a bin
// shows what anyone sent it as text. Every other spec's pages run under the policy too (support.ts).

test('the policy refuses an inline script without the nonce, and the watcher reports it', async ({ browser }) => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const seen = await watchCsp(page);
  const res = await page.goto('/login');
  const h = res!.headers();
  expect(h['content-security-policy']).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]{22}' 'wasm-unsafe-eval'/);
  expect(h['x-frame-options']).toBe('DENY');
  expect(h['x-content-type-options']).toBe('nosniff');
  expect(h['referrer-policy']).toBe('same-origin');
  expect(h['cache-control']).toBe('no-store');
  await waitForHydration(page);
  expect(seen).toEqual([]);

  // What an injected script would be: inline, without this response's nonce.
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__injected = true';
    document.body.append(s);
  });
  await expect.poll(() => seen.length).toBeGreaterThan(0);
  expect(seen.join('\n')).toContain('script-src');
  expect(await page.evaluate(() => (window as any).__injected)).toBeUndefined();
  await ctx.close();
});

test('a page on another site that frames the panel gets nothing', async ({ browser }) => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const panel = new URL('/login', test.info().project.use.baseURL).href;
  // A stand-in for an attacker's page (Playwright answers for the made-up origin).
  await page.route('http://attacker.test/**', (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><title>Win a prize</title><iframe id="panel" src="${panel}"></iframe>`,
    }),
  );
  await page.goto('http://attacker.test/prize');
  // Chromium replaces a refused frame with its own error page.
  await expect.poll(() => page.frames().map((f) => f.url())).toContain('chrome-error://chromewebdata/');
  const frame = page.frameLocator('#panel');
  await expect(frame.getByRole('button', { name: 'Sign in' })).toHaveCount(0);
  await expect(frame.getByLabel('Email')).toHaveCount(0);
  await ctx.close();
});

test('a bin that receives a script shows it as text and runs nothing', async ({ page }) => {
  let dialogs = 0;
  page.on('dialog', (d) => {
    dialogs += 1;
    d.dismiss();
  });
  await signIn(page);
  await developerModeOn(page);
  const base = page.url().replace(/\/bookings$/, '');
  await page.goto(`${base}/inspector`);
  await waitForHydration(page);
  await page.getByLabel('Name').fill('hostile bin');
  await page.getByRole('button', { name: 'Create bin' }).click();
  await expect(page).toHaveURL(/\/inspector\/[A-Za-z0-9]{32}$/);
  const token = page.url().split('/').pop()!;

  const body = '<script>alert("bin");window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
  const res = await page.request.post(`/inspect/${token}`, { data: body, headers: { 'content-type': 'text/html' } });
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toBe('application/json');
  expect(res.headers()['x-content-type-options']).toBe('nosniff');

  await page.reload();
  await waitForHydration(page);
  const captured = page.getByTestId('captured').locator('> li');
  await expect(captured).toHaveCount(1);
  await expect(captured.first().locator('pre').last()).toHaveText(body);
  await expect(captured.locator('script, img')).toHaveCount(0);
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  expect(dialogs).toBe(0);
});
