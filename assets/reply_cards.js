// One page of replies in the document viewer as one element (pages/contact/message.py ReplyCards): a card per reply
// with its time and author, its text and its attachments' links, drawn here from the element's props. The 20
// cards as NiceGUI elements (60) were most of the cost of opening a message with replies. Data only ever reaches
// the page through {{ }} and :attr bindings (escaped by Vue): a reply's text is shown as text.
export default {
  template: `
    <div class="nicegui-column w-full gap-2">
      <q-card v-for="reply in replies" :key="reply.id" class="nicegui-card w-full gap-1 portal-reply">
        <div class="text-xs text-grey-7">{{ reply.when }} · {{ reply.author }}</div>
        <div class="whitespace-pre-wrap break-words">{{ reply.body }}</div>
        <a v-for="file in reply.attachments" :key="file.url" :href="prefix + file.url" target="_blank"
           class="nicegui-link text-sm">{{ file.name }}</a>
      </q-card>
    </div>
  `,
  props: {
    replies: { type: Array, default: () => [] },
  },
  data() {
    return { prefix: window.path_prefix || "" };
  },
  mounted() {
    setTimeout(() => (this.prefix = window.path_prefix || ""), 0);  // (as in portal_header.js)
  },
};
