/* global document, window, localStorage, URLSearchParams */
// The review page in the browser: keyboard shortcuts, the transcript's lines as seek buttons, playback
// speed, a plain message when the audio does not load, the category only when the answer asks for
// it, and a draft of the answers in localStorage, so that a login after an expired session (or a
// reload) gives them back. The page works without it: the server checks every rule again.
(() => {
  const form = document.getElementById('label-form');
  const audio = document.getElementById('player');
  const speed = document.getElementById('speed');
  const skipPanel = document.getElementById('skip-panel');
  const skipForm = document.getElementById('skip-form');
  const undoForm = document.getElementById('undo-form');
  const shortcuts = document.getElementById('shortcuts');
  const categoryField = document.getElementById('category-field');
  const CATEGORY_REQUIRED = ['yes'];
  const CATEGORY_ASKED = ['yes', 'unsure'];
  const ANSWERS = { y: 'yes', n: 'no', u: 'unsure' };

  // A label the server confirmed (saved or skipped) needs no draft any more.
  const params = new URLSearchParams(window.location.search);
  for (const done of [params.get('saved'), params.get('skipped')]) {
    if (done) localStorage.removeItem(`review-draft:${done}`);
  }

  const draftKey = form ? `review-draft:${form.dataset.item}` : null;
  const answerOf = () => form?.querySelector('input[name=violatesPolicy]:checked')?.value ?? '';

  function showCategory() {
    if (!categoryField || !form) return;
    const answer = answerOf();
    const select = form.elements.namedItem('category');
    const asked = !answer || CATEGORY_ASKED.includes(answer);
    categoryField.hidden = !asked;
    select.disabled = !asked; // a hidden category is not sent
    select.required = CATEGORY_REQUIRED.includes(answer);
  }

  function saveDraft() {
    if (!form || !draftKey) return;
    const draft = {
      violatesPolicy: answerOf(),
      category: form.elements.namedItem('category').value,
      notes: form.elements.namedItem('notes').value,
    };
    localStorage.setItem(draftKey, JSON.stringify(draft));
  }

  function restoreDraft() {
    if (!form || !draftKey) return;
    // The server's answers (a stale page, an undone label) win over an older draft.
    if (answerOf() || form.elements.namedItem('notes').value) return saveDraft();
    let draft;
    try {
      draft = JSON.parse(localStorage.getItem(draftKey) ?? 'null');
    } catch {
      draft = null;
    }
    if (!draft) return;
    const radio = form.querySelector(`input[name=violatesPolicy][value="${draft.violatesPolicy}"]`);
    if (radio) radio.checked = true;
    form.elements.namedItem('category').value = draft.category ?? '';
    form.elements.namedItem('notes').value = draft.notes ?? '';
  }

  function setAnswer(value) {
    const radio = form?.querySelector(`input[name=violatesPolicy][value="${value}"]`);
    if (!radio) return;
    radio.checked = true;
    showCategory();
    saveDraft();
  }

  function setCategory(index) {
    const select = form?.elements.namedItem('category');
    if (!select || select.disabled || index >= select.options.length) return;
    select.selectedIndex = index;
    saveDraft();
  }

  function submitLabel() {
    if (form) form.requestSubmit();
  }

  function openSkip() {
    if (!skipPanel) return;
    skipPanel.open = true;
    skipForm.elements.namedItem('reason').focus();
  }

  // --- audio: speed, seeking, the playing line, load errors -------------------------------------
  const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
  function setSpeed(rate) {
    if (!audio) return;
    audio.playbackRate = rate;
    audio.defaultPlaybackRate = rate;
    if (speed) speed.value = String(rate);
    localStorage.setItem('review-speed', String(rate));
  }
  function stepSpeed(direction) {
    const at = SPEEDS.indexOf(audio?.playbackRate ?? 1);
    const next = SPEEDS[Math.min(SPEEDS.length - 1, Math.max(0, (at < 0 ? 2 : at) + direction))];
    setSpeed(next);
  }
  function togglePlay() {
    if (!audio) return;
    if (audio.paused) void audio.play().catch(() => undefined);
    else audio.pause();
  }
  function seekBy(seconds) {
    if (!audio) return;
    audio.currentTime = Math.max(0, audio.currentTime + seconds);
  }

  if (audio) {
    const saved = Number(localStorage.getItem('review-speed'));
    if (SPEEDS.includes(saved)) setSpeed(saved);
    speed?.addEventListener('change', () => {
      setSpeed(Number(speed.value));
      speed.blur(); // back to the shortcuts
    });
    const audioFailed = () => {
      document.getElementById('audio-error').hidden = false;
      if (skipForm) skipForm.elements.namedItem('reason').value = 'audio does not load';
      if (skipPanel) skipPanel.open = true;
    };
    audio.addEventListener('error', audioFailed);
    if (audio.error) audioFailed(); // it failed before this script ran
    const segments = [...document.querySelectorAll('button.segment')];
    for (const button of segments) {
      button.addEventListener('click', () => {
        button.blur(); // Enter then submits the label instead of replaying the line
        audio.currentTime = Number(button.dataset.start);
        void audio.play().catch(() => undefined);
      });
    }
    audio.addEventListener('timeupdate', () => {
      const t = audio.currentTime;
      for (const button of segments) {
        const on = t >= Number(button.dataset.start) && t < Number(button.dataset.end);
        button.classList.toggle('playing', on);
      }
    });
  }

  // --- the form --------------------------------------------------------------------------------
  if (form) {
    restoreDraft();
    showCategory();
    form.addEventListener('change', () => {
      showCategory();
      saveDraft();
    });
    form.addEventListener('input', saveDraft);
  }

  // --- keyboard --------------------------------------------------------------------------------
  document.addEventListener('keydown', (event) => {
    if (event.altKey || event.isComposing) return;
    const target = event.target;
    const tag = target?.tagName;
    const typing = tag === 'TEXTAREA' || (tag === 'INPUT' && !['radio', 'checkbox'].includes(target.type));
    const inSkip = skipForm?.contains(target);
    if (event.key === 'Escape') {
      if (typing || tag === 'SELECT') target.blur();
      if (skipPanel?.open) skipPanel.open = false;
      return;
    }
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey || !typing)) {
      if (tag === 'BUTTON' || tag === 'A') return; // the focused control does its own thing
      event.preventDefault();
      if (inSkip) skipForm.requestSubmit();
      else submitLabel();
      return;
    }
    if (typing || tag === 'SELECT' || event.ctrlKey || event.metaKey) return;
    const key = event.key.toLowerCase();
    if (key in ANSWERS) setAnswer(ANSWERS[key]);
    else if (/^[1-9]$/.test(key)) setCategory(Number(key));
    else if (key === ' ' || key === 'k') togglePlay();
    else if (key === 'j' || event.key === 'ArrowLeft') seekBy(-5);
    else if (key === 'l' || event.key === 'ArrowRight') seekBy(5);
    else if (key === '[') stepSpeed(-1);
    else if (key === ']') stepSpeed(1);
    else if (key === 's') openSkip();
    else if (key === 'z') undoForm?.requestSubmit();
    else if (key === '?' && shortcuts) shortcuts.open = !shortcuts.open;
    else return;
    event.preventDefault();
  });
})();
