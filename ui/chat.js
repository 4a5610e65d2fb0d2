// The chat page's behaviour that must not wait for the server: [n] shows that answer's source n,
// "Open the whole article" scrolls to the highlight, Send is disabled on an empty box, the character
// counter, and copying an answer with its sources. Event delegation: Gradio re-renders messages.
(function () {
  const box = () => document.querySelector('#qa-input textarea');
  const send = () => document.querySelector('#qa-send');
  function refresh() {
    const b = box(), s = send(), count = document.querySelector('#qa-count');
    if (!b) return;
    const empty = !b.value.trim(), n = String(b.value.length);
    if (s && s.disabled !== empty) s.disabled = empty;
    if (count && count.textContent !== n) count.textContent = n;
  }
  document.addEventListener('input', refresh, true);
  setInterval(refresh, 150);  // the box is also filled and emptied by the server (examples, send)
  document.addEventListener('click', function (e) {
    const ref = e.target.closest && e.target.closest('a.qa-ref');
    if (ref) {
      e.preventDefault(); e.stopPropagation();
      const target = document.getElementById(ref.getAttribute('href').slice(1));
      if (!target) return;
      const list = target.closest('details.qa-srcs');
      if (list) list.open = true;
      document.querySelectorAll('.qa-source.qa-shown').forEach(el => el.classList.remove('qa-shown'));
      target.classList.add('qa-shown');
      target.scrollIntoView({block: 'center'});
      target.focus({preventScroll: true});
      return;
    }
    const copy = e.target.closest && e.target.closest('button.qa-copy');
    if (copy) {
      const answer = copy.closest('.qa-answer');
      const lines = [answer.querySelector('.qa-unsure'), answer.querySelector('.qa-short'), answer.querySelector('.qa-text')]
        .filter(Boolean).map(el => el.innerText.trim());
      answer.querySelectorAll('.qa-source').forEach(src => {
        const head = src.querySelector('.qa-src-head').innerText.trim();
        const quote = src.querySelector('.qa-passage mark');
        const file = src.querySelector('.qa-file').innerText.trim();
        lines.push(head + (quote ? ': "' + quote.innerText.trim() + '"' : '') + ' (' + file + ')');
      });
      const text = lines.join('\n');
      window.__qaCopied = text;
      if (navigator.clipboard) navigator.clipboard.writeText(text).catch(() => {});
      copy.textContent = 'Copied';
      setTimeout(() => { copy.textContent = 'Copy answer and sources'; }, 2000);
    }
  }, true);
  document.addEventListener('toggle', function (e) {
    const d = e.target;
    if (!d.matches || !d.matches('details.qa-whole') || !d.open) return;
    const box = d.querySelector('.qa-article'), mark = box && box.querySelector('mark');
    if (mark) box.scrollTop += mark.getBoundingClientRect().top - box.getBoundingClientRect().top - box.clientHeight / 3;
  }, true);
})();
