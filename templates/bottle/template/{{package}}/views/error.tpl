% rebase('base.tpl', title=f'{status} {title}')
<h1>{{status}} {{title}}</h1>
<p>{{description}}</p>
