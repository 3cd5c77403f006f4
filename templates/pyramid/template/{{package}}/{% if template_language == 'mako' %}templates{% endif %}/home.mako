<%inherit file="layout.mako"/>
<%def name="title()">Home</%def>

<h1>${project_name}</h1>
<p>${description}</p>
<p>Try the JSON API: <a href="${greeting_url}">${greeting_url}</a></p>
<p>Visits this session: ${visits}</p>
