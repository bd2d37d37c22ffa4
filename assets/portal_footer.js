// The portal's admin-configured footer as one element (pages/frame.py PortalFooter): its text (or "© portal
// name"), its links and the help-desk phone, from the element's props, only through Vue's escaping bindings.
export default {
  template: `
    <q-footer class="nicegui-footer wrap bg-grey-2 text-grey-9 text-xs px-4 py-2 flex-wrap gap-3 portal-footer">
      <div>{{ text }}</div>
      <a v-for="(link, n) in links" :key="n" :href="local(link.url)" target="_self" class="nicegui-link text-grey-9">{{ link.label }}</a>
      <div v-if="phone">Help desk: {{ phone }}</div>
    </q-footer>
  `,
  props: {
    text: String,
    links: { type: Array, default: () => [] },
    phone: String,
  },
  data() {
    return { prefix: window.path_prefix || "" };
  },
  mounted() {
    setTimeout(() => (this.prefix = window.path_prefix || ""), 0);  // (as in portal_header.js)
  },
  methods: {
    local(url) {
      return url && url.startsWith("/") ? this.prefix + url : url;
    },
  },
};
