// Names and keyboard access for the parts Quasar draws itself (the pages cannot reach them): every page loads this
// (pages/frame.py adds the tag, pages/public/assets.py serves it). Table scroll areas become focusable regions,
// selection checkboxes are named after their row, the loading bar is named, and the uploader's "+" button is one
// named control that opens the file chooser; rows that open on a click (and hold no link) open by keyboard too.
(() => {
  if (window.portalA11y) return;
  window.portalA11y = true;
  let loadFocus = false;  // after a page loads, the focus goes to its h1 (unless a field took it, e.g. autofocus)
  const focusHeading = () => {
    const h = document.querySelector('main h1');
    if (loadFocus || !h) return;
    loadFocus = true;
    setTimeout(() => {
      const active = document.activeElement;
      if (active && active !== document.body && active.id !== 'main') return;
      h.setAttribute('tabindex', '-1');
      h.focus({preventScroll: true});
    }, 150);
  };
  const text = (el) => (el ? el.textContent.replace(/\s+/g, ' ').trim() : '');
  // the phone layout (< 600 px now, or after a resize or a turn) is told to the page once it runs (a global
  // event: pages/contact/home.py sends its tables' phone-card template only then; pages without a listener ignore
  // it); here, not sent with each page: a script run on connect was 8 % of the server's work per page open
  const phone = window.matchMedia('(max-width: 599px)');
  let phoneWatched = false;
  const tellPhone = () => { if (phone.matches) emitEvent('smp_phone_layout'); };
  const watchPhone = () => {
    if (phoneWatched || typeof mounted_app === 'undefined' || !mounted_app) return;  // (nicegui.js: the page runs)
    phoneWatched = true;
    phone.addEventListener('change', tellPhone);
    tellPhone();
  };
  const fix = () => {
    watchPhone();
    focusHeading();
    keepUploaderFocus();
    document.querySelectorAll('.q-loading-bar:not([aria-label])').forEach((el) => el.setAttribute('aria-label', 'Loading'));
    document.querySelectorAll('.q-table__middle.scroll:not([tabindex])').forEach((el) => {
      el.tabIndex = 0;
      el.setAttribute('role', 'region');
      el.setAttribute('aria-label', 'Table, scrolls sideways');
    });
    // a row that opens on a click and holds no link or control of its own (the registrations queue, the
    // accounts): Tab reaches it and Enter or Space opens it, as the click does
    document.querySelectorAll('.q-table__container.cursor-pointer tbody tr:not([tabindex])').forEach((row) => {
      if (!row.querySelector('a[href], button, input, [role=checkbox]')) {
        row.tabIndex = 0;
      }
    });
    document.querySelectorAll('.q-table th .q-checkbox[role=checkbox]:not([aria-label])')
      .forEach((el) => el.setAttribute('aria-label', 'Select all rows'));
    document.querySelectorAll('.q-table td .q-checkbox[role=checkbox], .q-table__grid-item .q-checkbox[role=checkbox]')
      .forEach((el) => {
        const row = el.closest('tr, .q-table__grid-item');
        const cells = row ? [...row.querySelectorAll('td:not(.q-table--col-auto-width)')] : [];
        const name = `Select ${text(cells[0]) || 'row'}`.slice(0, 120);
        if (el.getAttribute('aria-label') !== name) el.setAttribute('aria-label', name);
      });
    // the uploader's "+" is a Quasar button wrapping a hidden file input (a control inside a control): the
    // input itself becomes the named control the keyboard reaches, the button around it only draws it
    document.querySelectorAll('.q-uploader__input').forEach((input) => {
      const button = input.closest('.q-btn');
      const uploader = input.closest('.q-uploader');
      const title = text(uploader && uploader.querySelector('.q-uploader__header .q-uploader__title'));
      const name = title ? `Choose files: ${title}` : 'Choose files';
      if (input.getAttribute('aria-label') !== name) input.setAttribute('aria-label', name);
      if (input.tabIndex !== 0) input.tabIndex = 0;
      if (button && button.getAttribute('role') !== 'none') {
        button.setAttribute('role', 'none');
        button.tabIndex = -1;
      }
    });
    document.querySelectorAll('.q-uploader__header .q-btn:not([aria-label])').forEach((el) => {
      const icon = text(el.querySelector('.q-icon'));
      const names = {clear_all: 'Remove all files', cloud_upload: 'Upload', done_all: 'Remove uploaded files', clear: 'Abort'};
      if (names[icon]) el.setAttribute('aria-label', names[icon]);
    });
    document.querySelectorAll('.q-uploader__file .q-btn:not([aria-label])').forEach((el) => {
      el.setAttribute('aria-label', `Remove ${text(el.closest('.q-uploader__file').querySelector('.q-uploader__title'))}`);
    });
    document.querySelectorAll('.q-menu .q-item[role=listitem]').forEach((el) => el.setAttribute('role', 'menuitem'));
  };
  document.addEventListener('keydown', (event) => {
    const row = event.target;
    if ((event.key === 'Enter' || event.key === ' ') && row.matches && row.matches('.cursor-pointer tbody tr[tabindex="0"]')) {
      event.preventDefault();
      row.click();
    }
  });
  // a file chosen by keyboard re-renders the uploader: the focus goes back to its file input, not to the page
  let lastUploader = null;
  document.addEventListener('focusin', (event) => {
    lastUploader = event.target.matches && event.target.matches('.q-uploader__input')
      ? event.target.closest('.q-uploader') : null;
  });
  document.addEventListener('mousedown', () => { lastUploader = null; });
  const keepUploaderFocus = () => {
    const active = document.activeElement;
    if (!lastUploader || (active && active !== document.body)) return;
    const input = lastUploader.isConnected && lastUploader.querySelector('.q-uploader__input');
    if (input) input.focus();
  };
  // An embedded document (a PDF in an iframe) does not take the focus by itself. Chromium's PDF viewer now and
  // then takes it as it loads, and what the person was typing (a reply: its field has the focus) went into the
  // PDF instead. Focus that moves into a frame while it loads or in the 3 s after goes back where it was, unless
  // it came by Tab; later, it is the person's click into the document and stays.
  let lastFocus = null;
  let lastTab = 0;
  const frameLoaded = new WeakMap();
  document.addEventListener('focusin', (event) => {
    if (event.target.tagName !== 'IFRAME') lastFocus = event.target;
  }, true);
  document.addEventListener('keydown', (event) => { if (event.key === 'Tab') lastTab = Date.now(); }, true);
  document.addEventListener('load', (event) => {
    if (event.target.tagName === 'IFRAME') frameLoaded.set(event.target, Date.now());
  }, true);
  window.addEventListener('blur', () => setTimeout(() => {
    const frame = document.activeElement;
    if (!frame || frame.tagName !== 'IFRAME' || Date.now() - lastTab < 1000) return;
    if (Date.now() - (frameLoaded.get(frame) || Date.now()) > 3000) return;
    if (lastFocus && lastFocus !== frame && lastFocus.isConnected) lastFocus.focus({preventScroll: true});
  }, 0));
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; fix(); });
  }).observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                        attributeFilter: ['role', 'tabindex']});
  document.addEventListener('DOMContentLoaded', fix);
})();
