"""The studio's page in a real browser: Debian's chromium, driven by Selenium through
chromedriver, against a real uvicorn process on a loopback port.

`bash .ci/run` installs chromium and chromium-driver; the test fails, not skips, where
they are missing, so that CI runs it.
"""

import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from selenium import webdriver
from selenium.webdriver.chrome import service as chrome_service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support import ui

import stylexfer
from stylexfer.reading import readers

pytestmark = pytest.mark.slow
# STYLEXFER_SCREENSHOT=docs/studio.png keeps the page's picture (README shows it).
SCREENSHOT = os.environ.get('STYLEXFER_SCREENSHOT')


@pytest.fixture(scope='module')
def studio():
  server = subprocess.Popen([sys.executable, '-m', 'stylexfer.programs.studio', '--port=0'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  line = server.stdout.readline()
  address = re.search(r'http://127\.0\.0\.1:\d+/', line)
  assert address, line + server.stderr.read()
  yield address.group(0)
  server.terminate()
  server.wait(timeout=30)


@pytest.fixture()
def browser(tmp_path):
  chromium = shutil.which('chromium') or shutil.which('chromium-browser')
  driver = shutil.which('chromedriver')
  assert chromium and driver, 'install chromium and chromium-driver (bash .ci/run does)'
  options = webdriver.ChromeOptions()
  options.binary_location = chromium
  for argument in ('--headless=new', '--no-sandbox', '--disable-gpu',
                   '--disable-dev-shm-usage', '--window-size=1400,1100'):
    options.add_argument(argument)
  options.add_experimental_option('prefs', {
      'download.default_directory': str(tmp_path), 'download.prompt_for_download': False})
  browser = webdriver.Chrome(service=chrome_service.Service(driver), options=options)
  yield browser
  browser.quit()


def test_upload_the_reel_move_the_slider_restyle_hear_and_download(studio, browser,
                                                                   tmp_path):
  browser.get(studio)
  wait = ui.WebDriverWait(browser, 120)
  wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, '#to option[value=jazz]'))
  browser.find_element(By.ID, 'file').send_keys(stylexfer.REEL)
  wait.until(lambda b: 'The Stylexfer Reel' in b.find_element(By.ID, 'tune').text)
  # Move the slider half way, as a hand would: input events as it goes.
  slider = browser.find_element(By.ID, 'strength')
  browser.execute_script(
      "arguments[0].value = 0.5; arguments[0].dispatchEvent(new Event('input'));", slider)
  assert browser.find_element(By.ID, 'strength-value').text == '0.5'
  browser.find_element(By.ID, 'restyle').click()
  wait.until(lambda b: b.find_element(By.TAG_NAME, 'body').get_attribute('data-restyled'))
  assert browser.find_element(By.ID, 'error').text == ''
  after = browser.find_element(By.ID, 'after')
  assert 'The Stylexfer Reel (jazz)' in after.find_element(By.CLASS_NAME, 'title').text
  assert after.find_elements(By.CSS_SELECTOR, '.score svg')
  # The audio element has a source the browser can play.
  audio = after.find_element(By.TAG_NAME, 'audio')
  wait.until(lambda b: b.execute_script('return arguments[0].readyState', audio) >= 2)
  assert audio.get_attribute('src').endswith('.jazz.wav')
  assert browser.execute_script('return arguments[0].duration', audio) > 10
  # Download the MIDI: it holds the reel's pitches.
  after.find_element(By.CLASS_NAME, 'download-mid').click()
  midi = tmp_path / 'the-stylexfer-reel.jazz.mid'
  deadline = time.time() + 60
  while not midi.is_file() and time.time() < deadline:
    time.sleep(0.2)
  assert midi.is_file(), os.listdir(tmp_path)
  assert set(readers.read_melody(str(midi)).pitches) == set(
      stylexfer.read(stylexfer.REEL).pitches)
  # Moving the slider again restyles again, without a page load.
  browser.execute_script(
      "arguments[0].value = 1; arguments[0].dispatchEvent(new Event('input'));", slider)
  changed = after.find_element(By.CLASS_NAME, 'changed')
  wait.until(lambda b: '(strength 1, seed 0)' in changed.text)
  assert int(changed.text.split()[0]) > 10, changed.text  # the full transfer changes many
  if SCREENSHOT:
    browser.execute_script("document.getElementById('after').scrollIntoView()")
    browser.save_screenshot(SCREENSHOT)


def test_a_bad_file_says_why_on_the_page(studio, browser, tmp_path):
  bad = tmp_path / 'notes.mid'
  bad.write_bytes(b'not a MIDI file')
  browser.get(studio)
  browser.find_element(By.ID, 'file').send_keys(str(bad))
  browser.find_element(By.ID, 'restyle').click()
  ui.WebDriverWait(browser, 60).until(
      expected_conditions.text_to_be_present_in_element((By.ID, 'error'), 'notes.mid'))


def test_a_title_with_markup_is_shown_as_text(studio, browser):
  title = '<img src=x onerror="document.body.dataset.hacked=1">'
  browser.get(studio)
  wait = ui.WebDriverWait(browser, 120)
  wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, '#to option[value=jazz]'))
  pasted = browser.find_element(By.ID, 'abc')
  pasted.send_keys(f'X:1\nT:{title}\nM:4/4\nL:1/8\nK:G\nGABc d2B2|c2A2 G4|]\n')
  browser.find_element(By.ID, 'tune').click()  # leaves the text box: its change event
  browser.find_element(By.ID, 'restyle').click()
  wait.until(lambda b: b.find_element(By.TAG_NAME, 'body').get_attribute('data-restyled'))
  assert title in browser.find_element(By.CSS_SELECTOR, '#before .title').text
  assert browser.find_element(By.TAG_NAME, 'body').get_attribute('data-hacked') is None
  assert not browser.find_elements(By.CSS_SELECTOR, '#results img')
