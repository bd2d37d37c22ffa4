// The portal's header as one element (pages/frame.py PortalHeader): the same markup the ~10 NiceGUI elements drew
// (skip link, logo or icon, portal name, and for a signed-in person the Menu, Settings, name and Sign out), drawn
// here from the element's props. Data only ever reaches the page through {{ }} and :attr bindings (escaped by Vue).
// Like NiceGUI's header.js: a Quasar q-header, and link targets are kept clear of it (scroll padding).
export default {
  template: `
    <q-header class="nicegui-header wrap items-center gap-3 px-3 py-2 bg-white text-grey-9 shadow-sm portal-header">
      <a href="#main" target="_self" class="nicegui-link skip-link">Skip to main content</a>
      <a :href="local(home)" target="_self" class="nicegui-link flex items-center gap-3 no-underline text-inherit">
        <q-img v-if="logo_url" :src="local(logo_url)" :alt="logo_alt" fit="contain" class="w-28 h-10 portal-logo" />
        <q-icon v-else name="local_hospital" size="md" color="primary" aria-hidden="true" />
        <div v-if="header_text" class="nicegui-column gap-0">
          <div class="text-lg font-bold leading-tight">{{ portal_name }}</div>
          <div class="text-xs text-grey-7">{{ header_text }}</div>
        </div>
        <div v-else class="text-lg font-bold leading-tight">{{ portal_name }}</div>
      </a>
      <nav v-if="signed_in" class="flex items-center gap-3 no-wrap ml-auto" aria-label="Portal">
        <q-btn v-if="links.length" label="Menu" icon="menu" flat no-caps color="grey-9" class="px-2">
          <!-- the button's name reads "Menu 3 unworked replies": Chromium leaves the badge (role status) out of a
               button's name, so the count is said in the screen-reader text and the badge is hidden from it -->
          <template v-if="unworked > 0">
            <q-badge color="negative" floating aria-hidden="true">{{ unworked }}<q-tooltip>{{ unworked }} unworked replies in the SMP worklist</q-tooltip></q-badge>
            <div class="sr-only">{{ " " + unworked + " unworked replies" }}</div>
          </template>
          <q-menu>
            <!-- (a link, but drawn as the menu's text: not in the link colour portal.css gives a.q-link) -->
            <q-item v-for="link in links" :key="link.url" :href="local(link.url)" clickable v-close-popup
                    style="color: inherit">
              <q-item-section>{{ link.label }}</q-item-section>
            </q-item>
          </q-menu>
        </q-btn>
        <q-btn v-if="settings_url" :href="local(settings_url)" icon="settings" flat round color="grey-9"
               aria-label="Settings" title="Settings" />
        <div class="text-sm text-grey-8 gt-xs">{{ display_name }}</div>
        <q-btn label="Sign out" icon="logout" flat color="primary" @click="$emit('sign_out')" />
      </nav>
    </q-header>
  `,
  props: {
    portal_name: String,
    header_text: String,
    logo_url: String,
    logo_alt: String,
    home: String,
    signed_in: Boolean,
    display_name: String,
    links: { type: Array, default: () => [] },
    settings_url: String,
    unworked: Number,
  },
  emits: ["sign_out"],
  data() {
    return { prefix: window.path_prefix || "" };
  },
  mounted() {
    // (as NiceGUI's link.js: the page's path prefix is known once the app has mounted)
    setTimeout(() => (this.prefix = window.path_prefix || ""), 0);
    this.resizeObserver = new ResizeObserver(() => {
      document.documentElement.style.scrollPaddingTop = `${this.$el.offsetHeight}px`;
    });
    this.resizeObserver.observe(this.$el);
  },
  unmounted() {
    this.resizeObserver?.disconnect();
  },
  methods: {
    local(url) {
      return url && url.startsWith("/") ? this.prefix + url : url;
    },
  },
};
