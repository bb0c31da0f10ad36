/**
 * A real headless Chromium for the dashboard tests, driven by puppeteer-core over the DevTools
 * protocol. Chromium comes from the system (Debian package `chromium`, installed by `.ci/run`);
 * without it the tests skip with a line naming the package, except under CI=true, where they fail.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, {type Browser, type Page} from 'puppeteer-core';

export const CHROMIUM_PATHS = [process.env.PTV2_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((p): p is string => p !== undefined && p !== '');

export function chromiumPath(): string | undefined {
  return CHROMIUM_PATHS.find((p) => fs.existsSync(p));
}

/** The `skip` option of a browser test: a reason outside CI when Chromium is missing, else false. */
export function skipWithoutChromium(): string | false {
  if (chromiumPath()) return false;
  if (process.env.CI === 'true') throw new Error('Chromium is required under CI=true: apt-get install -y chromium');
  return 'needs Chromium: apt-get install -y chromium (Debian package "chromium")';
}

export async function launchChromium(): Promise<{browser: Browser; close: () => Promise<void>}> {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptv2-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    userDataDir,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      fs.rmSync(userDataDir, {recursive: true, force: true});
    },
  };
}

/** A page that records console errors and uncaught exceptions (and failed requests) into `errors`. */
export async function watchedPage(browser: Browser, width = 1280, height = 900): Promise<{page: Page; errors: string[]}> {
  const page = await browser.newPage();
  await page.setViewport({width, height});
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${(error as Error).message}`));
  page.on('requestfailed', (request) => {
    // An open event stream is cut when the page navigates or closes; that is not a failure.
    if (!request.url().endsWith('/api/events')) errors.push(`request: ${request.url()} ${request.failure()?.errorText}`);
  });
  return {page, errors};
}

/** Where screenshots go: test-artifacts/ (git-ignored) at the repository root, or PTV2_TEST_ARTIFACTS. */
export function artifactDir(): string {
  const dir = process.env.PTV2_TEST_ARTIFACTS ?? path.resolve(import.meta.dirname, '../../test-artifacts');
  fs.mkdirSync(dir, {recursive: true});
  return dir;
}
