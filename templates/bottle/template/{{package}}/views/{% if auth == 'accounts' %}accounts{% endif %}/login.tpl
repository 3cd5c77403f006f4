% rebase('base.tpl', title='Sign in')
<h1>Sign in</h1>
% if error:
<p class="error" role="alert">{{error}}</p>
% end
%# No action: the form posts to this URL, its ?next= included.
<form method="post">
  <input type="hidden" name="csrf_token" value="{{csrf_token}}">
  % include('accounts/_field.tpl', name='email', label='Email', type='email', value=email, errors={})
  % include('accounts/_field.tpl', name='password', label='Password', type='password', errors={})
  <button type="submit">Sign in</button>
</form>
<p>
  <a href="/accounts/password/reset">Forgot your password?</a>
  No account? <a href="/accounts/signup">Sign up</a>.
</p>
